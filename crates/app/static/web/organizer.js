// Script of the organizer page.
