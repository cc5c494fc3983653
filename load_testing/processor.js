// Helpers for artillery.yml: the event's dates, and Venezuelan test customers
// with a cédula, a name and a mobile number of the local operators.
"use strict";

const FIRST_NAMES = ["María", "José", "Luis", "Carmen", "Ana", "Carlos", "Yusmary", "Jesús", "Rosa", "Pedro"];
const LAST_NAMES = ["Pérez", "González", "Rodríguez", "Hernández", "García", "Martínez", "López", "Díaz", "Rangel", "Medina"];
const MOBILE_PREFIXES = ["0412", "0414", "0416", "0424", "0426"];

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function digits(count) {
  let text = "";
  for (let index = 0; index < count; index += 1) {
    text += Math.floor(Math.random() * 10);
  }
  return text;
}

// Sets a new customer's fields: a cédula V-NNNNNNNN (no check digit, unlike a
// RIF), a name and a mobile number 04XX-NNNNNNN.
function newCustomer(context, events, done) {
  context.vars.firstName = pick(FIRST_NAMES);
  context.vars.lastName = pick(LAST_NAMES);
  context.vars.cedula = `V-${10000000 + Math.floor(Math.random() * 20000000)}`;
  context.vars.phone = `${pick(MOBILE_PREFIXES)}-${digits(7)}`;
  return done();
}

// Sets the load event's dates: on sale from an hour ago for 29 days, held in 30 days.
function setEventTimes(context, events, done) {
  const hour = 60 * 60 * 1000;
  const now = Date.now();
  const iso = (milliseconds) => new Date(milliseconds).toISOString().replace(/\.\d{3}Z$/, "Z");
  context.vars.saleStartsAt = iso(now - hour);
  context.vars.saleEndsAt = iso(now + 29 * 24 * hour);
  context.vars.startsAt = iso(now + 30 * 24 * hour);
  return done();
}

module.exports = { newCustomer, setEventTimes };
