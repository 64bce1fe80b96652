// Agent call view (/admin/call/<id>): customer, self view, presentation with
// previous/next and document switcher, mute, camera, hang up, summary.
import { RoomClient } from "/static/js/room-client.js";
import { _, loadMessages } from "/static/js/i18n.js";
import { autoRejoin, firstFrame, watchQuality } from "/static/call/connection.js";

const $ = (id) => document.getElementById(id);
const root = $("agent-call");
const callId = root.dataset.callId;
const state = { client: null, stream: null, times: {}, phase: "start", pages: null };
window.vidzzle = state;

// Camera + microphone, else the microphone only, else nothing (receive only:
// the agent still sees and hears the customer). Resolves to a stream or null.
async function getMedia() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
  } catch (err) {
    state.mediaError = err.name;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    state.mediaError = err.name;
    return null;
  }
}
state.times.module = Date.now();
const mediaPromise = root.dataset.state === "accepted" && root.dataset.roomToken ? getMedia() : Promise.resolve(null);

function fmtDuration(seconds) {
  const s = Math.round(Number(seconds) || 0);
  return _("%(min)s min %(sec)s s", { min: Math.floor(s / 60), sec: s % 60 });
}

// Busy while in the call; from the summary on the agent can be rung again:
// the presence badge appears and console.js opens the presence socket.
function holdPresence() {
  const badge = $("presence");
  if (!badge || state.presence) return;
  state.presence = true;
  badge.hidden = false;
  import("/static/agent/console.js");
}

const ended = () => state.phase === "ended";

async function summary(reason) {
  if (state.phase === "ended") return;
  state.phase = "ended";
  holdPresence();
  if (state.client) state.client.leave();
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  $("in-call").hidden = true;
  $("summary").hidden = false;
  $("summary-reason").textContent = reason || "";
  let info = null;
  for (let i = 0; i < 10; i++) {  // the record is closed right after the room
    info = await fetch(location.pathname, { headers: { Accept: "application/json" } }).then((r) => r.json()).catch(() => null);
    if (!info || info.state !== "accepted") break;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (info && info.duration_s != null) $("summary-duration").textContent = fmtDuration(info.duration_s);
  state.summary = info;
}

function addRemote(detail) {
  const { track, stream, info } = detail;
  if (track.kind === "audio") {
    const audio = new Audio();
    audio.srcObject = stream;
    audio.play().catch(() => {});
    return;
  }
  if (info.source === "presentation") {
    $("presentation-video").srcObject = new MediaStream([track]);
    $("presentation-box").hidden = false;
    return;
  }
  $("waiting-note").hidden = true;
  const fig = document.createElement("figure");
  fig.className = "remote";
  fig.dataset.mid = info.mid;
  const video = document.createElement("video");
  video.autoplay = true; video.playsInline = true; video.muted = true;
  video.srcObject = new MediaStream([track]);
  const cap = document.createElement("figcaption");
  cap.textContent = (state.names && state.names[info.participant_id]) || root.dataset.customer;
  fig.append(video, cap);
  $("remotes").append(fig);
}

function showPresentation(p) {
  if (!p) return;
  state.pages = p;
  $("pres-page").textContent = `${p.page} / ${p.page_count}`;
  $("pres-doc").value = p.document_id;
  $("pres-prev").disabled = p.page <= 1;
  $("pres-next").disabled = p.page >= p.page_count;
}

async function hangUp() {
  $("hangup").disabled = true;
  const res = await fetch(`/admin/call/${callId}/hangup`, {
    method: "POST", headers: { "X-CSRF-Token": root.dataset.csrf, Accept: "application/json" } }).catch(() => null);
  await summary(res && res.ok ? _("You hung up.") : "");
}

async function start() {
  if (root.dataset.state !== "accepted" || !root.dataset.roomToken) {
    state.phase = "ended";
    holdPresence();
    $("summary").hidden = false;
    if (root.dataset.duration) $("summary-duration").textContent = fmtDuration(root.dataset.duration);
    return;
  }
  $("in-call").hidden = false;
  $("hangup").onclick = hangUp;   // works from the first moment, also while joining
  state.acceptAt = Number(sessionStorage.getItem("vidzzle-accept-at")) || null;
  sessionStorage.removeItem("vidzzle-accept-at");
  // Media BEFORE connecting: Firefox gathers no usable ICE candidates until
  // getUserMedia was granted (docs/signalling.md). Asked for as soon as the
  // module loads (mediaPromise), so Chromium loses next to nothing.
  const stream = await mediaPromise;
  state.times.media = Date.now();
  if (ended()) { stream?.getTracks().forEach((t) => t.stop()); return; }
  state.stream = stream;
  if (!stream || !stream.getVideoTracks().length) $("camera").disabled = true;
  if (!stream) $("mute").disabled = true;
  const client = new RoomClient({ token: root.dataset.roomToken, displayName: root.dataset.user });
  state.client = client;
  state.names = {};
  client.addEventListener("track", ({ detail }) => addRemote(detail));
  // a (re-)join starts from a fresh subscribe PC: drop the old tiles; the page shown may have moved meanwhile
  client.addEventListener("joined", ({ detail }) => {
    $("remotes").querySelectorAll("figure.remote").forEach((f) => f.remove());
    if (detail.presentation) showPresentation(detail.presentation);
  });
  client.addEventListener("trackremoved", ({ detail }) => {
    document.querySelector(`figure.remote[data-mid="${detail.info.mid}"]`)?.remove();
  });
  client.addEventListener("participantjoined", ({ detail }) => { state.names[detail.participant_id] = detail.display_name; });
  client.addEventListener("presentation", ({ detail }) => showPresentation(detail));
  client.addEventListener("roomclosed", ({ detail }) => summary(detail.reason === "ended_by_customer" || detail.reason === "customer_left"
    ? _("The customer hung up.") : ""));
  client.addEventListener("participantleft", () => {
    if (!client.tracks.size) return;
  });
  autoRejoin(client, (s) => {
    const note = $("call-note");
    if (s === "rejoining") { note.hidden = false; note.textContent = _("Connection lost. Reconnecting…"); }
    else if (s === "ok") note.hidden = true;
    else summary(_("The connection was lost and could not be restored."));
  });
  const joined = await client.connect();
  if (ended()) return;
  state.times.joined = Date.now();
  for (const p of joined.participants) state.names[p.participant_id] = p.display_name;
  const select = $("pres-doc");
  for (const d of joined.documents || []) select.append(new Option(d.title, d.id));
  $("presentation-box").querySelector(".doc-switch").hidden = (joined.documents || []).length < 2;
  showPresentation(joined.presentation);
  $("pres-prev").onclick = () => client.presentation("previous").then(showPresentation);
  $("pres-next").onclick = () => client.presentation("next").then(showPresentation);
  select.onchange = () => client.presentation("switch", { document_id: select.value }).then(showPresentation);
  if (stream) {
    $("self-video").srcObject = stream;
    await client.publish(stream);
  }
  if (ended()) return;
  state.phase = "incall";
  watchQuality(client, $("quality"));
  firstFrame(client, "camera").then((at) => { state.times.firstFrame = at; });
  let muted = false;
  let cameraOff = false;
  $("mute").onclick = () => {
    muted = !muted;
    client.setMuted("audio", muted);
    $("mute").setAttribute("aria-pressed", String(muted));
    $("mute").textContent = muted ? _("Unmute") : _("Mute");
  };
  $("camera").onclick = () => {
    cameraOff = !cameraOff;
    client.setMuted("video", cameraOff);
    $("camera").setAttribute("aria-pressed", String(cameraOff));
    $("camera").textContent = cameraOff ? _("Camera on") : _("Camera off");
  };
}

loadMessages([document.documentElement.lang]).then(start).catch((err) => {
  if (ended()) return;
  $("call-note").hidden = false;
  $("call-note").textContent = _("The call could not be started: %(reason)s", { reason: err.message || err });
});
