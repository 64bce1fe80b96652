// Agent console: presence (/ws/agent), ringing toasts with sound, accept or decline.
import { isRinging, startRinging, stopRinging, unlock } from "/static/agent/ring.js";
import { _, loadMessages } from "/static/js/i18n.js";

const $ = (id) => document.getElementById(id);
const toasts = new Map(); // call_id -> element
const state = { ws: null, ringAt: {}, acceptAt: {}, messages: [], online: false };
window.vidzzleAgent = state;

document.addEventListener("click", unlock);
$("sound-test")?.addEventListener("click", () => { startRinging(); setTimeout(() => { if (!toasts.size) stopRinging(); }, 2500); });

function setPresence(online) {
  state.online = online;
  $("presence").dataset.state = online ? "online" : "offline";
  $("presence").textContent = online ? _("Online — you can receive calls") : _("Offline — reconnecting…");
}

function removeToast(callId, note) {
  const el = toasts.get(callId);
  if (!el) return;
  toasts.delete(callId);
  if (note) {
    el.classList.add("gone");
    el.querySelector(".toast-actions").textContent = note;
    setTimeout(() => el.remove(), 2500);
  } else el.remove();
  if (!toasts.size) stopRinging();
}

function showToast(msg) {
  if (toasts.has(msg.call_id)) return;
  state.ringAt[msg.call_id] = Date.now();
  const el = document.createElement("div");
  el.className = "toast";
  el.dataset.callId = msg.call_id;
  el.setAttribute("role", "alertdialog");
  const title = document.createElement("strong");
  title.textContent = _("Incoming call: %(name)s", { name: msg.customer_name });
  const flow = document.createElement("div");
  flow.className = "toast-flow";
  flow.textContent = _("via %(flow)s", { flow: msg.flow_name });
  const actions = document.createElement("div");
  actions.className = "toast-actions";
  const accept = document.createElement("button");
  accept.type = "button";
  accept.className = "button primary accept";
  accept.textContent = _("Accept");
  accept.addEventListener("click", () => {
    accept.disabled = true;
    state.acceptAt[msg.call_id] = Date.now();
    sessionStorage.setItem("vidzzle-accept-at", String(Date.now()));
    send({ type: "accept", call_id: msg.call_id });
  });
  const decline = document.createElement("button");
  decline.type = "button";
  decline.className = "button decline";
  decline.textContent = _("Decline");
  decline.title = _("Stop ringing for me; the call goes on ringing for the others");
  decline.addEventListener("click", () => {
    decline.disabled = accept.disabled = true;
    send({ type: "decline", call_id: msg.call_id });
  });
  actions.append(accept, decline);
  el.append(title, flow, actions);
  $("toasts").append(el);
  toasts.set(msg.call_id, el);
  startRinging();
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function go(path) {
  // "accepted" and the accept "result" both carry the path: navigate once
  if (state.leaving) return;
  state.leaving = true;
  location.href = path;
}

function onMessage(msg) {
  state.messages.push(msg);
  switch (msg.type) {
    case "hello": return setPresence(true);
    case "ringing": return showToast(msg);
    case "taken": return removeToast(msg.call_id, _("Taken by %(name)s", { name: msg.by }));
    case "customer_left": return removeToast(msg.call_id, _("The customer hung up"));
    case "withdrawn":
      return removeToast(msg.call_id, msg.reason === "declined" ? _("You declined this call")
        : msg.reason === "interrupted" ? _("The call was interrupted") : _("Nobody answered in time"));
    case "accepted": removeToast(msg.call_id); go(msg.agent_path); return;
    case "result":
      if (msg.of === "accept" && msg.ok) { removeToast(msg.call_id); go(msg.agent_path); }
      else if (msg.of === "accept") removeToast(msg.call_id, msg.error || _("Could not accept"));
      else if (msg.of === "decline" && !msg.ok) removeToast(msg.call_id, msg.error);
  }
}

function connect() {
  const url = new URL("/ws/agent", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.addEventListener("message", (e) => onMessage(JSON.parse(e.data)));
  ws.addEventListener("close", () => {
    setPresence(false);
    for (const id of [...toasts.keys()]) removeToast(id);
    setTimeout(connect, 2000);
  });
  // keep proxies from closing an idle socket
  const ping = setInterval(() => { if (ws.readyState === WebSocket.OPEN) send({ type: "ping" }); else clearInterval(ping); }, 25000);
}

state.isRinging = isRinging;
await loadMessages([document.documentElement.lang]);
connect();
