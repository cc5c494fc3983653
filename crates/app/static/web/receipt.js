// Script of the receipt page: the Print button.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("print")?.addEventListener("click", () => window.print());
});
