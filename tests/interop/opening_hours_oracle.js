#!/usr/bin/env node
// Oracle for tests/tests/hours_osm_conformance.rs: evaluates OSM opening_hours strings with the
// reference implementation, the npm package opening_hours (pinned by scripts/node-tools.sh).
//
// Usage: TZ=Europe/Stockholm NODE_PATH=<prefix>/node_modules node opening_hours_oracle.js CASES.json
//
// CASES.json: {"cases": [{"oh": "Mo-Fr 08:00-17:00; PH off", "instants": ["2026-12-24T10:15:00Z", ...]}, ...]}
// stdout:     {"results": [[true, false, ...], {"error": "..."}, ...]}, one entry per case, in order:
//             getState() for each instant, or {"error": message} when the string does not parse
//             (the constructor throws). getState() is false for both "closed" and "unknown".
//
// The library evaluates in the process's local time zone, so TZ must be Europe/Stockholm; this
// script refuses to run otherwise rather than give answers for another zone.
"use strict";

const fs = require("fs");

function fail(message) {
    process.stderr.write(`opening_hours_oracle: ${message}\n`);
    process.exit(2);
}

if (process.argv.length !== 3) {
    fail("usage: node opening_hours_oracle.js CASES.json");
}
if (process.env.TZ !== "Europe/Stockholm") {
    fail(`TZ must be Europe/Stockholm (is ${JSON.stringify(process.env.TZ)})`);
}

// stdout carries the JSON answer only: anything the library logs goes to stderr.
for (const level of ["log", "info", "warn", "debug"]) {
    console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}

let opening_hours;
try {
    opening_hours = require("opening_hours");
} catch (e) {
    fail(`cannot load the npm package opening_hours (NODE_PATH=${process.env.NODE_PATH}): ${e.message}; run scripts/node-tools.sh`);
}

// Stockholm: PH comes from the country code (Sweden has no per-state holidays in the library).
const nominatim = { lat: 59.33, lon: 18.07, address: { country_code: "se", state: "Stockholms län" } };
const options = { mode: 0, tag_key: "opening_hours", locale: "en" };

const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
if (!input || !Array.isArray(input.cases)) {
    fail("the input has no \"cases\" array");
}

const results = input.cases.map((c, i) => {
    if (typeof c.oh !== "string" || !Array.isArray(c.instants)) {
        fail(`case ${i} needs a string "oh" and an array "instants"`);
    }
    let oh;
    try {
        oh = new opening_hours(c.oh, nominatim, options);
    } catch (e) {
        // The library throws plain strings (with a caret line pointing at the position).
        return { error: String(e && e.message ? e.message : e) };
    }
    return c.instants.map((s) => {
        const at = new Date(s);
        if (Number.isNaN(at.getTime())) {
            fail(`case ${i}: ${JSON.stringify(s)} is not an instant`);
        }
        return oh.getState(at);
    });
});

process.stdout.write(JSON.stringify({ results }) + "\n");
