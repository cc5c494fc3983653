// Script of the gate page.
