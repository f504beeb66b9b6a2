"""The example's web page: request a post, watch it arrive, edit, approve and publish it.

Server-rendered HTML with a little plain JavaScript that calls the same ``/v1`` API as any
client: no build step, no framework. The token stays in the browser's session storage.

Every link in ghostart's emails lands here: ``/?post=<id>`` opens that post (in whichever of the
member's organizations holds it), ``#billing`` shows the plan and, for admins, Checkout and the
billing portal, ``#linkedin`` and ``#email-preferences`` their sections.

When the service publishes to LinkedIn (``GHOSTART_PUBLISHER=linkedin``), the page also connects
the member's account: it sends the browser to LinkedIn's sign-in and, set as
``GHOSTART_LINKEDIN_REDIRECT_URI``, is where LinkedIn sends it back; it forwards ``code`` and
``state`` to ``GET /v1/linkedin/callback`` with the member's token.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ghostart</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  label { display: block; margin-top: .75rem; font-weight: 600; }
  input, select, textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; }
  textarea { min-height: 14rem; }
  button { margin: .75rem .5rem 0 0; font: inherit; padding: .4rem .9rem; }
  #status { font-weight: 600; }
  .error { color: #a00; }
  [hidden] { display: none; }
</style>
</head>
<body>
<h1>ghostart</h1>
<section id="signin">
  <label for="token">Access token</label>
  <input id="token" type="password" autocomplete="off"
         placeholder="paste the output of: ghostart token --email you@example.com">
  <button id="use-token">Sign in</button>
</section>
<section id="workspace" hidden>
  <p>Signed in as <span id="who"></span>.
     <button id="new-org" hidden>Create my organization</button></p>
  <label for="org">Organization</label>
  <select id="org"></select>
  <label for="topic">What should the post be about?</label>
  <input id="topic" maxlength="500" placeholder="Why our team writes design docs">
  <button id="request">Request a post</button>
  <p>Status: <span id="status">-</span></p>
  <label for="body">Draft</label>
  <textarea id="body" maxlength="3000"></textarea>
  <button id="save">Save edit</button>
  <button id="submit">Submit for review</button>
  <button id="approve">Approve</button>
  <button id="publish">Publish now</button>
  <p id="notice"></p>
  <p id="published"></p>
  <section id="linkedin" hidden>
    <h2>LinkedIn</h2>
    <p id="linkedin-status"></p>
    <button id="linkedin-connect">Connect LinkedIn</button>
  </section>
  <section id="billing">
    <h2>Plan</h2>
    <p id="billing-plan"></p>
    <p id="billing-grace" class="error"></p>
    <p id="billing-actions" hidden>
      <span id="billing-subscribe">
        <label for="billing-choice">Subscribe to a plan</label>
        <select id="billing-choice"></select>
        <button id="billing-checkout">Subscribe</button>
      </span>
      <button id="billing-portal">Manage billing</button>
    </p>
  </section>
  <section id="email-preferences">
    <h2>Email</h2>
    <p>Account and billing emails always come. Choose the others:</p>
    <label><input type="checkbox" id="pref-notifications" style="width:auto">
      Notifications about my posts (drafts, reviews, publishing)</label>
    <label><input type="checkbox" id="pref-digest" style="width:auto">
      The weekly digest, Monday morning in my time zone</label>
    <button id="save-prefs">Save email preferences</button> <span id="prefs-saved"></span>
    <ul id="recent-emails"></ul>
  </section>
</section>
<section id="analytics" hidden>
  <h2>Usage (last 14 days)</h2>
  <p id="analytics-totals"></p>
  <svg id="analytics-chart" role="img" aria-label="usage per day" width="100%" height="180"
       viewBox="0 0 700 180" preserveAspectRatio="none"></svg>
  <p id="analytics-legend"></p>
  <button id="analytics-csv">Download CSV</button>
</section>
<p id="error" class="error" role="alert"></p>
<script>
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("ghostart-token") || "";
let post = null;
let roles = {};  // organization id -> the member's role there

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) { throw new Error(data && data.detail ? data.detail : response.statusText); }
  return {status: response.status, data};
}
function fail(error) { $("error").textContent = error.message; }
function orgUrl(path) { return "/v1/organizations/" + $("org").value + path; }
function show(p) {
  post = p;
  $("status").textContent = p.status;
  if (p.body !== null && document.activeElement !== $("body")) { $("body").value = p.body; }
  $("notice").textContent = p.notice || "";
  $("published").replaceChildren();
  if (p.external_url) {
    const link = document.createElement("a");
    link.href = p.external_url; link.textContent = "See it on LinkedIn";
    link.rel = "noopener noreferrer";
    $("published").append("Published. ", link);
  } else if (p.error) {
    $("published").textContent = "Not published: " + p.error;
  }
}

async function signIn() {
  $("error").textContent = "";
  const me = (await api("GET", "/v1/me")).data;
  sessionStorage.setItem("ghostart-token", token);
  $("who").textContent = me.user.email || me.user.id;
  $("org").innerHTML = "";
  for (const org of me.organizations) {
    const option = document.createElement("option");
    option.value = org.id; option.textContent = org.name + " (" + org.role + ")";
    $("org").appendChild(option);
  }
  roles = Object.fromEntries(me.organizations.map((org) => [org.id, org.role]));
  $("new-org").hidden = me.organizations.length > 0;
  $("signin").hidden = true; $("workspace").hidden = false;
  loadEmail().catch(fail);
  loadLinkedIn().catch(fail);
  loadBilling().catch(fail);
  openLinkedPost(me.organizations).catch(fail);
}

async function createOrg() {
  const org = (await api("POST", "/v1/organizations", {name: "My organization"})).data;
  await api("POST", "/v1/organizations/" + org.id + "/brand-voices", {name: "House voice"});
  await signIn();
}

async function requestPost() {
  $("error").textContent = "";
  let answer = await api("POST", orgUrl("/content-requests"), {topic: $("topic").value});
  show(answer.data);
  while (answer.status === 202) {
    answer = await api("GET", orgUrl("/content-requests/" + answer.data.id + "?wait=5"));
    show(answer.data);
  }
  loadBilling().catch(fail);  // one more draft used
}

async function act(path, body) {
  $("error").textContent = "";
  show((await api(body === undefined ? "POST" : "PATCH", orgUrl("/posts/" + post.id + path), body)).data);
}

// An email's "/?post=<id>" link: open that post in whichever organization holds it.
async function openLinkedPost(organizations) {
  const id = new URLSearchParams(window.location.search).get("post");
  if (!id) { return; }
  for (const org of organizations) {
    try {
      const found = (await api("GET", "/v1/organizations/" + org.id + "/posts/" + id)).data;
      $("org").value = org.id;
      $("org").dispatchEvent(new Event("change"));
      show(found);
      return;
    } catch (error) { /* not in this organization: try the next */ }
  }
  throw new Error("that post is not in any of your organizations");
}

async function loadBilling() {
  if (!$("org").value) { return; }
  const billing = (await api("GET", orgUrl("/billing"))).data;
  const plan = billing.plan, limit = plan.monthly_generations;
  $("billing-plan").textContent = plan.name + " plan" + (billing.status ? " (" + billing.status + ")" : "")
    + ": " + billing.used.generations + (limit === null ? "" : " of " + limit)
    + " drafts this period.";
  $("billing-grace").textContent = billing.grace_until
    ? "A payment failed: the plan stays until " + new Date(billing.grace_until).toLocaleString()
      + " unless it is paid." : "";
  // Admins of a service that sells plans may subscribe or manage the subscription.
  const admin = roles[$("org").value] === "admin";
  $("billing-actions").hidden = !admin || billing.provider === "none";
  if ($("billing-actions").hidden) { return; }
  const offered = (await api("GET", "/v1/plans")).data.plans;
  $("billing-choice").replaceChildren(...offered.filter((p) => p.name !== plan.name).map((p) => {
    const option = document.createElement("option");
    option.value = option.textContent = p.name;
    return option;
  }));
  // Subscribed: plan changes and payment details are the portal's (Checkout would answer 409).
  $("billing-subscribe").hidden = !!billing.subscription_id || offered.length < 2;
  $("billing-portal").hidden = !billing.subscription_id;
}

async function billingRedirect(path, body) {
  $("error").textContent = "";
  const answer = (await api("POST", orgUrl(path), body)).data;
  window.location.assign(answer.url);
}

async function publish() {
  $("error").textContent = "";
  show((await api("POST", orgUrl("/posts/" + post.id + "/publish"))).data);
  // A worker publishes it; the page watches until it is out of the queue.
  for (let i = 0; i < 120 && ["scheduled", "publishing"].includes(post.status); i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    show((await api("GET", orgUrl("/posts/" + post.id))).data);
  }
}

async function loadLinkedIn() {
  if (!$("org").value) { return; }
  const answer = (await api("GET", orgUrl("/linkedin/connection"))).data;
  $("linkedin").hidden = !answer.configured;  // this service does not publish to LinkedIn
  if (!answer.configured) { return; }
  const member = answer.connections.find((c) => c.app === "member");
  const who = member ? (member.member_name || member.member_urn) : "";
  $("linkedin-status").textContent = !member ? "Not connected."
    : member.needs_reconnect ? "Connected as " + who + ", but LinkedIn wants you to sign in again."
    : "Connected as " + who + ".";
  $("linkedin-connect").textContent =
    member && !member.needs_reconnect ? "Reconnect LinkedIn" : "Connect LinkedIn";
}

async function connectLinkedIn() {
  $("error").textContent = "";
  const answer = (await api("GET", orgUrl("/linkedin/connect"))).data;
  window.location.assign(answer.authorization_url);
}

// LinkedIn sends the browser back here with ?code=...&state=... (or ?error=...&state=...).
async function finishLinkedIn() {
  const query = new URLSearchParams(window.location.search);
  if (!query.has("state")) { return; }
  // A code works once: keep it out of the history and of a reload.
  history.replaceState(null, "", window.location.pathname);
  const forward = new URLSearchParams();
  for (const name of ["state", "code", "error"]) {
    if (query.has(name)) { forward.set(name, query.get(name)); }
  }
  const answer = (await api("GET", "/v1/linkedin/callback?" + forward)).data;
  $("org").value = answer.organization_id;
  await loadLinkedIn();
}

$("use-token").onclick = () => {
  token = $("token").value.trim();
  signIn().then(finishLinkedIn).catch(fail);
};
$("new-org").onclick = () => createOrg().catch(fail);
$("request").onclick = () => requestPost().catch(fail);
$("save").onclick = () => act("", {body: $("body").value}).catch(fail);
$("submit").onclick = () => act("/submit").catch(fail);
$("approve").onclick = () => act("/approve").catch(fail);
$("publish").onclick = () => publish().catch(fail);
$("linkedin-connect").onclick = () => connectLinkedIn().catch(fail);
$("org").addEventListener("change", () => loadLinkedIn().catch(fail));
$("org").addEventListener("change", () => loadBilling().catch(fail));
$("billing-checkout").onclick =
  () => billingRedirect("/billing/checkout", {plan: $("billing-choice").value}).catch(fail);
$("billing-portal").onclick = () => billingRedirect("/billing/portal").catch(fail);
if (token) {
  signIn().then(finishLinkedIn, () => sessionStorage.removeItem("ghostart-token")).catch(fail);
}
</script>
<script>
// A box the member changed is theirs until saved: a load that answers later (signing in runs
// again after creating an organization) must not undo the click.
const touchedPrefs = new Set();
for (const id of ["pref-notifications", "pref-digest"]) {
  $(id).addEventListener("change", () => touchedPrefs.add(id));
}
async function loadEmail() {
  const prefs = (await api("GET", "/v1/me/email-preferences")).data;
  if (!touchedPrefs.has("pref-notifications")) { $("pref-notifications").checked = prefs.notifications; }
  if (!touchedPrefs.has("pref-digest")) { $("pref-digest").checked = prefs.digest; }
  const recent = (await api("GET", "/v1/email/recent")).data.emails;
  $("recent-emails").replaceChildren(...recent.slice(0, 5).map((e) => {
    const item = document.createElement("li");
    item.textContent = e.template.replaceAll("_", " ") + ": " + (e.delivery || e.status);
    return item;
  }));
}
async function savePrefs() {
  $("error").textContent = ""; $("prefs-saved").textContent = "";
  await api("PATCH", "/v1/me/email-preferences", {
    notifications: $("pref-notifications").checked, digest: $("pref-digest").checked,
  });
  touchedPrefs.clear();
  $("prefs-saved").textContent = "saved";
}
$("save-prefs").onclick = () => savePrefs().catch(fail);
</script>
<script>
// Usage analytics (issue 10): a page view per organization shown, and for admins the chart.
const SERIES = [["api_calls", "API calls", "#4c78a8"], ["page_views", "page views", "#72b7b2"],
                ["generations", "drafts generated", "#f58518"], ["publishes", "posts published", "#54a24b"]];
async function loadAnalytics() {
  if (!$("org").value) { return; }
  await api("POST", orgUrl("/analytics/page-views"), {page: "/"});
  let summary;
  try { summary = (await api("GET", orgUrl("/analytics/daily?days=14"))).data; }
  catch (error) { $("analytics").hidden = true; return; }  // not an admin: nothing to show
  $("analytics").hidden = false;
  const t = summary.totals;
  $("analytics-totals").textContent = SERIES.map(([k, label]) => t[k] + " " + label).join(", ");
  const svg = $("analytics-chart"), ns = "http://www.w3.org/2000/svg";
  const max = Math.max(1, ...summary.days.flatMap((d) => SERIES.map(([k]) => d[k])));
  const slot = 700 / summary.days.length, bar = (slot - 6) / SERIES.length;
  const bars = [];
  summary.days.forEach((day, i) => SERIES.forEach(([key, label, color], j) => {
    const rect = document.createElementNS(ns, "rect"), h = 160 * day[key] / max;
    rect.setAttribute("x", i * slot + 3 + j * bar); rect.setAttribute("width", bar);
    rect.setAttribute("y", 170 - h); rect.setAttribute("height", h);
    rect.setAttribute("fill", color); rect.setAttribute("data-series", key);
    rect.setAttribute("data-day", day.day); rect.setAttribute("data-value", day[key]);
    const tip = document.createElementNS(ns, "title");
    tip.textContent = day.day + ": " + day[key] + " " + label; rect.appendChild(tip);
    bars.push(rect);
  }));
  svg.replaceChildren(...bars);
  $("analytics-legend").replaceChildren(...SERIES.map(([, label, color]) => {
    const item = document.createElement("span");
    item.textContent = "\u25a0 " + label + "  "; item.setAttribute("style", "color:" + color);
    return item;
  }));
}
async function downloadCsv() {
  const response = await fetch(orgUrl("/analytics/export.csv?days=90"),
                               {headers: {"Authorization": "Bearer " + token}});
  if (!response.ok) { throw new Error("export failed: " + response.status); }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = "ghostart-analytics.csv"; link.click();
}
$("analytics-csv").onclick = () => downloadCsv().catch(fail);
$("org").addEventListener("change", () => loadAnalytics().catch(fail));
new MutationObserver(() => loadAnalytics().catch(fail)).observe($("org"), {childList: true});
</script>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    """The page (static: everything it shows comes from the API, with the user's token)."""
    return HTMLResponse(
        _PAGE,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": (
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
