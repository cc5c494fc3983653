// Script of the day page.
