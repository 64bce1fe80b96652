// Customer page (/call?embed=ID&name=NAME, opened by embed.js in an overlay)
// and invitee page (/join/<token>, from a follow-up invitation).
import { RoomClient } from "/static/js/room-client.js";
import { _, language, loadMessages, translatePage } from "/static/js/i18n.js";
import { autoRejoin, firstFrame, fmtElapsed, watchQuality } from "/static/call/connection.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const inviteToken = location.pathname.startsWith("/join/") ? location.pathname.slice(6) : "";
const embedded = window.parent !== window;
const state = { phase: "start", call: null, client: null, stream: null, times: {}, audioOnly: false };
window.vidzzle = state;

function show(view) {
  for (const v of ["v-gdpr", "v-wait", "v-callback", "v-call", "v-end"]) $(v).hidden = v !== view;
}

function finish(title, text) {
  state.phase = "ended";
  if (state.client) state.client.leave();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  $("end-title").textContent = title;
  $("end-text").textContent = text;
  show("v-end");
}

// Follow the call's outcome: the host page (embed.js) navigates; standalone we do.
function redirect(url, title) {
  // once: the hang-up answer and the room's close can both lead here, and a
  // second navigation of the host page would abort the first
  if (state.redirected) return;
  state.redirected = true;
  finish(title, _("One moment, you are being forwarded…"));
  state.redirectUrl = url;
  if (!url) return;
  if (embedded) window.parent.postMessage({ cwbbb: "redirect", url }, "*");
  else location.href = url;
}

async function api(path, options = {}) {
  // the page's language, so the server's error texts come in it too
  const res = await fetch(path, { headers: { "Content-Type": "application/json", "Accept-Language": language() }, ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error || `HTTP ${res.status}`), { status: res.status, body });
  return body;
}

// ---- camera and microphone -------------------------------------------------

const mediaErrors = () => ({
  NotAllowedError: _("Access to the camera or microphone was blocked. Allow it in your browser (icon in the address bar) and try again, or continue with audio only."),
  NotFoundError: _("No camera or microphone was found. Connect one and try again, or continue with audio only."),
  NotReadableError: _("The camera or microphone is in use by another program. Close it and try again, or continue with audio only."),
  OverconstrainedError: _("Your camera does not support the requested format. Try again or continue with audio only."),
});

// what the call record keeps of a failed check (services/calls MEDIA_PROBLEMS)
const MEDIA_PROBLEM = { NotAllowedError: "permission_denied", SecurityError: "permission_denied",
                        NotFoundError: "no_device", NotReadableError: "device_busy", AbortError: "device_busy" };

async function getMedia(audioOnly) {
  $("media-error").hidden = true;
  try {
    const constraints = audioOnly ? { audio: true, video: false }
      : { audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    state.audioOnly = audioOnly;
    state.mediaProblem = "";
    $("media-explain").hidden = true;
    return stream;
  } catch (err) {
    state.mediaError = err.name;
    state.mediaProblem = MEDIA_PROBLEM[err.name] || "other";
    $("media-error-text").textContent = mediaErrors()[err.name] || _("Camera/microphone unavailable (%(reason)s).", { reason: err.name });
    $("media-error").hidden = false;
    $("audio-only").hidden = audioOnly;
    return null;
  }
}

let mediaWanted = null;
function waitForMedia() {
  return new Promise((resolve) => {
    mediaWanted = resolve;
    const attempt = async (audioOnly) => { const s = await getMedia(audioOnly); if (s) mediaWanted(s); };
    $("retry-media").onclick = () => attempt(state.audioOnly);
    $("audio-only").onclick = () => attempt(true);
    attempt(false);
  });
}

// ---- the room ---------------------------------------------------------------

function attachTrack({ track, stream, info }) {
  if (track.kind === "audio") {
    const audio = new Audio();
    audio.srcObject = stream;
    audio.play().catch(() => {});
    return;
  }
  const target = info.source === "presentation" ? $("presentation-video") : $("remote-video");
  target.srcObject = new MediaStream([track]);
  if (info.source === "presentation") $("presentation-box").hidden = false;
}

function startTimer() {
  const t0 = Date.now();
  const tick = () => {
    if (!["checking", "ringing", "waiting"].includes(state.phase)) return;
    $("elapsed").textContent = fmtElapsed(Date.now() - t0);
    setTimeout(tick, 500);
  };
  tick();
}

function enterCall(name) {
  if (state.phase === "incall") return;
  state.phase = "incall";
  state.times.agentJoined = Date.now();
  $("remote-name").textContent = name || _("Agent");
  $("self-video").srcObject = state.stream;
  show("v-call");
  watchQuality(state.client, $("quality"));
  firstFrame(state.client, "camera").then((at) => { state.times.firstFrame = at; });
}

// Leaving the page (tab closed, reload, overlay removed) is an explicit
// leave: the server would otherwise keep a ringing call alive for its
// re-join grace (docs/api.md).
function leaveBody() {
  const body = { customer_key: state.call.customer_key };
  if (state.phase === "checking" && state.mediaProblem) body.media_problem = state.mediaProblem;
  return JSON.stringify(body);
}

function leaveBeacon() {
  if (!state.call || !state.call.customer_key || !["checking", "ringing", "incall"].includes(state.phase)) return;
  navigator.sendBeacon(`/api/calls/${state.call.call_id}/leave`, leaveBody());
}
window.addEventListener("pagehide", leaveBeacon);

async function joinRoom(token, displayName) {
  const client = new RoomClient({ token, displayName });
  state.client = client;
  client.addEventListener("track", ({ detail }) => attachTrack(detail));
  client.addEventListener("participantjoined", ({ detail }) => {
    if (detail.role === "agent") enterCall(detail.display_name);
  });
  client.addEventListener("roomclosed", ({ detail }) => onRoomClosed(detail.reason));
  autoRejoin(client, (s) => {
    const note = $("call-note");
    if (s === "rejoining") { note.hidden = false; note.textContent = _("Connection lost. Reconnecting…"); }
    else if (s === "ok") { note.hidden = true; }
    else finish(_("Connection lost"), _("We could not restore the connection. Please check your network and try again."));
  });
  const joined = await client.connect();
  const agent = joined.participants.find((p) => p.role === "agent");
  return agent;
}

// Nobody can take the call and the flow offers a callback: the customer
// leaves their details, or "No, thanks" goes on to the flow's URL.
function offerCallback(url, title) {
  if (state.phase === "callback" || state.phase === "ended") return;
  state.phase = "callback";
  if (state.client) state.client.leave();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  $("callback-title").textContent = title;
  $("cb-name").value = params.get("name") || "";
  show("v-callback");
  $("callback-no").onclick = () => redirect(url, title);
  $("callback-form").onsubmit = async (e) => {
    e.preventDefault();
    for (const f of ["name", "phone", "email"]) $(`cb-${f}-error`).textContent = "";
    $("callback-send").disabled = true;
    const body = { customer_key: state.call.customer_key };
    for (const f of ["name", "phone", "email", "preferred"]) body[f] = $(`cb-${f}`).value;
    try {
      await api(`/api/calls/${state.call.call_id}/callback`, { method: "POST", body: JSON.stringify(body) });
      finish(_("Thank you"), _("We will call you back as soon as we can. You can close this window."));
    } catch (err) {
      $("callback-send").disabled = false;
      const fields = (err.body && err.body.fields) || {};
      for (const [f, text] of Object.entries(fields)) if ($(`cb-${f}-error`)) $(`cb-${f}-error`).textContent = text;
      if (!Object.keys(fields).length) $("cb-name-error").textContent = err.message;
    }
  };
}

async function onRoomClosed(reason) {
  if (state.phase === "ended" || state.phase === "callback") return;
  if (state.call && state.call.customer_key) {
    const status = await api(`/api/calls/${state.call.call_id}?key=${encodeURIComponent(state.call.customer_key)}`).catch(() => null);
    if (status && status.callback === "offered") return offerCallback(status.redirect_url, _("No agent is available right now"));
    if (status && status.redirect_url) return redirect(status.redirect_url, status.state === "escalated"
      ? _("No agent is available right now") : _("The call has ended"));
    if (status && status.state === "escalated") return finish(_("No agent is available right now"), _("Please try again later."));
  }
  finish(_("The call has ended"), _("Thank you. You can close this window."));
}

function wireControls() {
  let muted = false;
  let cameraOff = false;
  $("mute").onclick = () => {
    muted = !muted;
    state.client.setMuted("audio", muted);
    $("mute").setAttribute("aria-pressed", String(muted));
    $("mute").textContent = muted ? _("Unmute") : _("Mute");
  };
  $("camera").onclick = () => {
    cameraOff = !cameraOff;
    state.client.setMuted("video", cameraOff);
    $("camera").setAttribute("aria-pressed", String(cameraOff));
    $("camera").textContent = cameraOff ? _("Camera on") : _("Camera off");
  };
  $("camera").disabled = state.audioOnly;
  $("hangup").onclick = hangUp;
  $("cancel").onclick = hangUp;
}

async function hangUp() {
  if (state.call && state.call.customer_key) {
    const result = await api(`/api/calls/${state.call.call_id}/leave`, { method: "POST", body: leaveBody() })
      .catch(() => null);
    if (result && result.redirect_url) return redirect(result.redirect_url, _("The call has ended"));
    if (state.phase !== "incall") {
      finish(_("Call cancelled"), _("You cancelled the call."));
      if (embedded) window.parent.postMessage({ cwbbb: "close" }, "*");
      return;
    }
  }
  finish(_("The call has ended"), _("Thank you. You can close this window."));
}

function fmtWait(seconds) {
  return seconds < 60 ? _("less than a minute") : _("about %(minutes)s min", { minutes: Math.round(seconds / 60) });
}

// The waiting view: who the customer waits for, the honest estimate (the
// server sends none without enough history) and the place in line.
function showWaiting(s) {
  const who = [s.dealer, s.group].filter(Boolean).join(" · ");
  if (who) {
    $("waiting-for-text").textContent = _("You are waiting for %(who)s", { who });
    $("waiting-for").hidden = false;
  }
  if (s.picture && $("group-picture").hidden) {
    $("group-picture").src = `/api/calls/${state.call.call_id}/picture?key=${encodeURIComponent(state.call.customer_key)}`;
    $("group-picture").hidden = false;
  }
  $("estimate").hidden = s.estimate_s == null;
  if (s.estimate_s != null) $("estimate").textContent = _("Estimated wait: %(time)s", { time: fmtWait(s.estimate_s) });
  $("queue").hidden = !(s.waiting > 1);
  if (s.waiting > 1) {
    $("queue").textContent = _("You are number %(position)s of %(waiting)s in line", { position: s.position, waiting: s.waiting });
  }
}

// While ringing: the waiting view, and a fallback for escalation (the room closes then too).
async function pollStatus() {
  while (state.phase === "ringing" || state.phase === "checking") {
    const s = await api(`/api/calls/${state.call.call_id}?key=${encodeURIComponent(state.call.customer_key)}`).catch(() => null);
    if (state.phase !== "ringing" && state.phase !== "checking") return;
    if (s && s.state === "escalated") return onRoomClosed("escalated");
    if (s && s.state === "abandoned") {
      return finish(_("The call was cancelled"), _("We could not connect your camera and microphone in time. Please try again."));
    }
    if (s && s.state === "ringing") showWaiting(s);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

// ---- entry points -----------------------------------------------------------

async function incoming() {
  const embedId = params.get("embed") || "";
  const name = params.get("name") || _("Customer");
  state.times.pageStart = Date.now();
  // precheck: agents ring only once this page has shown that camera,
  // microphone and network work (ready() below)
  const call = await api("/api/calls", { method: "POST", body: JSON.stringify({ embed_id: embedId, name, precheck: true }) });
  state.call = call;
  state.times.started = Date.now();
  if (call.state === "out_of_hours" && call.callback === "offered") return offerCallback(call.out_of_hours_url, _("We are closed right now"));
  if (call.state === "out_of_hours") return redirect(call.out_of_hours_url, _("We are closed right now"));
  state.phase = "checking";
  $("wait-title").textContent = _("Checking your camera, microphone and connection…");
  show("v-wait");
  startTimer();
  wireControls();
  pollStatus();
  // Media (or the customer's choice of audio only) BEFORE joining: Firefox
  // gathers no usable ICE candidates until getUserMedia was granted.
  const stream = await waitForMedia();
  state.stream = stream;
  if (state.phase === "ended") return;
  const agent = await joinRoom(call.room_token, name);
  $("self-preview").srcObject = stream;
  $("self-preview").hidden = state.audioOnly;
  $("camera").disabled = state.audioOnly;
  if (state.phase === "ended") return;
  await state.client.publish(stream);
  state.times.published = Date.now();
  await mediaReachesUs();
  if (state.phase !== "checking") return;
  state.phase = "ringing";
  $("wait-title").textContent = _("Connecting you to an agent…");
  if (agent) enterCall(agent.display_name);
}

const NETWORK_CHECK_MS = 15000;

// The server confirms that this page's media arrives (409 until it does);
// after NETWORK_CHECK_MS of trying, the customer is told the network blocks
// the call, and can try again.
async function mediaReachesUs() {
  const deadline = Date.now() + NETWORK_CHECK_MS;
  while (state.phase === "checking") {
    try {
      await api(`/api/calls/${state.call.call_id}/ready`, { method: "POST", body: JSON.stringify({
        customer_key: state.call.customer_key, audio_only: state.audioOnly }) });
      state.mediaProblem = "";
      $("media-error").hidden = true;
      return;
    } catch (err) {
      if (err.status !== 409) throw err;
    }
    if (Date.now() > deadline) {
      state.mediaProblem = "network";
      $("media-error-text").textContent = _("Your camera and microphone work, but the video does not get through your network (a firewall or a company network may block it). Try another network, such as mobile data, then try again.");
      $("audio-only").hidden = true;
      $("media-error").hidden = false;
      await new Promise((resolve) => { $("retry-media").onclick = resolve; });
      $("media-error").hidden = true;
      return mediaReachesUs();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function invited() {
  const key = `vidzzle-invite-${inviteToken}`;
  let join = sessionStorage.getItem(key) && JSON.parse(sessionStorage.getItem(key));
  if (!join) {   // the link is single use: after joining, a reload uses the stored room token
    const info = await api(`/api/invites/${encodeURIComponent(inviteToken)}`);
    if (info.gdpr_text) {
      $("gdpr-text").textContent = info.gdpr_text;
      show("v-gdpr");
      await new Promise((resolve) => { $("gdpr-accept").onclick = resolve; });
    }
    join = await api(`/api/invites/${encodeURIComponent(inviteToken)}/join`, { method: "POST", body: "{}" });
    sessionStorage.setItem(key, JSON.stringify(join));
  }
  state.phase = "waiting";
  $("wait-title").textContent = _("Hello %(name)s, joining the call…", { name: join.display_name });
  show("v-wait");
  startTimer();
  wireControls();
  const stream = await waitForMedia();
  state.stream = stream;
  const agent = await joinRoom(join.room_token, join.display_name);
  await state.client.publish(stream);
  enterCall(agent ? agent.display_name : _("Agent"));
}

// Esc inside the overlay's frame closes the overlay, except in a running
// call (there Hang up ends it, so a stray key does not).
if (embedded) {
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.phase !== "incall") window.parent.postMessage({ cwbbb: "escape" }, "*");
  });
}

// The language: ?lang= (embed.js passes the button's data-cwbbb-lang or the
// host page's lang), else the browser's; the tenant's when none has a catalog.
const wanted = [params.get("lang"), ...(navigator.languages || [navigator.language])];
const main = inviteToken ? invited : incoming;
loadMessages(wanted, params.get("embed") || "").then(() => { translatePage(); return main(); }).catch((err) => {
  if (state.phase === "ended") return;
  const gone = err.status === 404 || err.status === 410;
  if (gone && !inviteToken && state.phase === "start") {
    finish(_("This call button is not available"),
      _("The video call button on this page is not set up (any more). Please contact us another way."));
  } else if (gone) {
    finish(_("This link is no longer valid"), _("The call is over or the link was already used."));
  } else {
    finish(_("The call could not be started"), String(err.message || err));
  }
});
