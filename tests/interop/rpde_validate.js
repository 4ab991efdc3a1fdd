#!/usr/bin/env node
// Walks a whole RPDE feed (OpenActive Realtime Paged Data Exchange) from its first page, following
// `next`, with OpenActive's validator, the npm package @openactive/rpde-validator (pinned by
// scripts/node-tools.sh), and prints every message it reports.
//
// Usage: NODE_PATH=<prefix>/node_modules node rpde_validate.js [options] FEED-URL
//   --page-limit N        walk at most N pages (default 1000; the library's own default is 20).
//                         A walk that stops before the last page fails.
//   --timeout-ms N        give up on one request after N ms (default 10000)
//   --allow-warning TYPE  do not fail on warnings of this type (repeatable), e.g.
//                         minimum_items_per_page for a small fixture with fewer than 500 items a page
//   --verbose             the library's progress log on stderr
//
// stdout: one line per message, "<severity> <type> [<rule>] <page url>: <message>", then a summary
//         line with the numbers of pages and items walked and of messages by severity.
// Exit:   0 when nothing fails, 1 when something does, 2 on bad usage or a missing package.
//
// What fails: every "failure" (the library's error severity), every "warning", and the checks this
// script adds (a request that could not be made, a rule that threw, a walk that stopped before the
// last page). "notice" and "suggestion" are printed and never fail: the library always gives one
// suggestion (whether item data follows the OpenActive modelling spec).
//
// Warnings fail, with one exception, a flaw of the validator that no feed can avoid (over http on
// 127.0.0.1 or anywhere else): the walk fetches every page, the empty last page it ends on too, as
// a page "before the last page", so a last page served as RPDE asks ("public, max-age" of 8 or
// less) is warned about for not having max-age 3600 or more, while the validator's own probe of
// the last page (afterTimestamp a year ahead) warns about the opposite. The warning on the page the
// walk ended on is tolerated when that page's Cache-Control is public with max-age <= 8, so either
// header is still checked once. Nothing else depends on the scheme or host: http and 127.0.0.1 or
// localhost pass (an explicit port needs 2 to 5 digits; [::1] is not taken as a URL).
"use strict";

const path = require("path");

function fail(message) {
    process.stderr.write(`rpde_validate: ${message}\n`);
    process.exit(2);
}

const usage = "usage: node rpde_validate.js [--page-limit N] [--timeout-ms N] [--allow-warning TYPE]... [--verbose] FEED-URL";
const opts = { pageLimit: 1000, timeoutMs: 10000, allowWarnings: new Set(), verbose: false };
let feedUrl = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const value = () => {
        if (i + 1 >= argv.length) fail(`${a} needs a value\n${usage}`);
        i += 1;
        return argv[i];
    };
    const positive = (s) => {
        const n = Number(s);
        if (!Number.isInteger(n) || n < 1) fail(`${a} needs a positive integer, not ${JSON.stringify(s)}`);
        return n;
    };
    if (a === "--page-limit") opts.pageLimit = positive(value());
    else if (a === "--timeout-ms") opts.timeoutMs = positive(value());
    else if (a === "--allow-warning") opts.allowWarnings.add(value());
    else if (a === "--verbose") opts.verbose = true;
    else if (a.startsWith("-") || feedUrl !== null) fail(usage);
    else feedUrl = a;
}
if (feedUrl === null) fail(usage);
try {
    new URL(feedUrl);
} catch (e) {
    fail(`not a URL: ${JSON.stringify(feedUrl)}`);
}

// The library's modules, loaded from the package itself (not through its index) so that the walk
// can be watched: FeedChecker is what RpdeValidator(url, options) runs.
let FeedChecker, UrlHelper, rules, parseCacheControl, validatorVersion;
try {
    const root = path.dirname(require.resolve("@openactive/rpde-validator/package.json"));
    validatorVersion = require(path.join(root, "package.json")).version;
    FeedChecker = require(path.join(root, "src/feed-checker"));
    UrlHelper = require(path.join(root, "src/helpers/url-helper"));
    rules = require(path.join(root, "src/rules"));
    parseCacheControl = require(require.resolve("cache-parser", { paths: [root] })).parse;
} catch (e) {
    fail(`cannot load the npm package @openactive/rpde-validator (NODE_PATH=${process.env.NODE_PATH}): ${e.message}; run scripts/node-tools.sh`);
}

// The walk in progress, for the wrappers below (one walk per process).
let checker = null;
const ownMessage = (type, rule, message) => ({ severity: "failure", type, rule, message });

// The library swallows a request that fails for any reason but a time-out (connection refused, say)
// and an exception in an HTTP rule (one is a response without Content-Type): the page then just has
// no messages. Both are made failures here.
const originalFetch = UrlHelper.fetch;
UrlHelper.fetch = function fetchReportingErrors(url, ...rest) {
    return originalFetch.call(this, url, ...rest).catch((e) => {
        if (e && e.name !== "TimeoutError" && checker) {
            checker.log.addPageError(url, ownMessage("http_error", "rpde_validate", `request failed: ${e.message}`));
        }
        throw e;
    });
};
const cacheControlOf = new Map();
const wrapped = new Set();
for (const group of ["http", "page", "preLastPage", "lastPage"]) {
    for (const Rule of rules[group]) {
        if (wrapped.has(Rule)) continue;
        wrapped.add(Rule);
        for (const method of ["validate", "after"]) {
            const original = Rule.prototype[method];
            Rule.prototype[method] = function guarded(node) {
                if (group === "http" && node && node.data) cacheControlOf.set(node.url, node.data.cacheControl);
                try {
                    return original.call(this, node);
                } catch (e) {
                    node.log.addPageError(node.url, ownMessage("validator_exception", this.meta.name, `the rule threw ${e && e.stack ? e.stack.split("\n")[0] : e}`));
                    return undefined;
                }
            };
        }
    }
}

class WatchedFeedChecker extends FeedChecker {
    constructor(url, options) {
        super(url, options);
        this.walkedPages = 0;
        this.walkedItems = 0;
        this.lastWalkedUrl = null;
    }

    // load(url, false) is a page of the walk; load(url, true) the last-page probe and its `next`.
    load(url, isLastPage) {
        return super.load(url, isLastPage).then((json) => {
            if (!isLastPage) {
                this.walkedPages += 1;
                this.lastWalkedUrl = url;
                if (json && Array.isArray(json.items)) this.walkedItems += json.items.length;
            }
            return json;
        });
    }
}

function isTolerated(error, pageUrl) {
    if (error.severity !== "warning" || error.type !== "missing_cache_control") return false;
    if (!checker.isLastPage || pageUrl !== checker.lastWalkedUrl) return false;
    const cc = parseCacheControl(cacheControlOf.get(pageUrl)) || {};
    return Boolean(cc.public) && typeof cc.maxAge === "number" && cc.maxAge <= 8;
}

async function main() {
    checker = new WatchedFeedChecker(feedUrl, {
        pageLimit: opts.pageLimit,
        timeoutMs: opts.timeoutMs,
        logCallback: opts.verbose ? (l) => process.stderr.write(`[${l.verbosity}] ${l.message}\n`) : undefined,
    });
    try {
        await checker.walk();
    } catch (e) {
        checker.log.addPageError(feedUrl, ownMessage("validator_exception", "rpde_validate", `the walk threw ${e && e.stack ? e.stack : e}`));
    }
    if (!checker.isLastPage) {
        checker.log.addPageError(
            checker.lastWalkedUrl || feedUrl,
            ownMessage(
                "walk_incomplete",
                "rpde_validate",
                `the walk stopped after ${checker.walkedPages} page(s) without reaching a last page (no items and \`next\` equal to the page's URL): ` +
                    (checker.walkedPages >= opts.pageLimit ? `the page limit ${opts.pageLimit} was reached` : "see the messages above"),
            ),
        );
    }

    const counts = { failure: 0, warning: 0, notice: 0, suggestion: 0 };
    let failing = 0;
    for (const page of checker.log.pages) {
        for (const e of page.errors) {
            let label = e.severity;
            if (isTolerated(e, page.url)) label = `${e.severity} (tolerated: validator flaw on the walk's last page)`;
            else if (e.severity === "warning" && opts.allowWarnings.has(e.type)) label = `${e.severity} (allowed)`;
            else if (e.severity === "failure" || e.severity === "warning") failing += 1;
            counts[e.severity] = (counts[e.severity] || 0) + 1;
            const message = String(e.message).replace(/\s*\n\s*/g, " ");
            process.stdout.write(`${label} ${e.type} [${e.rule}] ${page.url}: ${message}\n`);
        }
    }
    const probes = checker.log.pages.length - checker.walkedPages;
    process.stdout.write(
        `rpde_validate: @openactive/rpde-validator ${validatorVersion} walked ${checker.walkedPages} page(s) with ${checker.walkedItems} item(s)` +
            ` (+${Math.max(probes, 0)} last-page probe URL(s)); ` +
            `${counts.failure} failure(s), ${counts.warning} warning(s), ${counts.notice} notice(s), ${counts.suggestion} suggestion(s); ` +
            (failing > 0 ? `FAILED (${failing} failing message(s))` : "OK") +
            "\n",
    );
    process.exit(failing > 0 ? 1 : 0);
}

main().catch((e) => {
    process.stderr.write(`rpde_validate: ${e && e.stack ? e.stack : e}\n`);
    process.exit(1);
});
