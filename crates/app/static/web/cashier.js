// Script of the cashier page.
