// Dev page logic: create or join a demo room, show every track.
import { RoomClient } from "/static/js/room-client.js";

const $ = (id) => document.getElementById(id);
const status = (text) => { $("status").textContent = text; };
const params = new URLSearchParams(location.search);
let client = null;
const muted = { audio: false, video: false };

function addVideo(stream, label, mid, local = false) {
  const fig = document.createElement("figure");
  fig.dataset.mid = mid;
  const video = document.createElement("video");
  video.autoplay = true; video.playsInline = true; video.muted = local;
  video.srcObject = stream;
  const cap = document.createElement("figcaption");
  cap.textContent = label;
  fig.append(video, cap);
  $("videos").append(fig);
}

async function join() {
  $("join").disabled = true;
  const res = await fetch("/dev/room/token", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room_id: params.get("room") || "", display_name: $("name").value }),
  });
  const { room_id, role, token } = await res.json();
  params.set("room", room_id);
  history.replaceState(null, "", `?${params}`);
  const link = Object.assign(document.createElement("a"), { href: location.href, textContent: location.href });
  $("share").replaceChildren("Share: ", link, ` (you are ${role})`);
  client = new RoomClient({ token, displayName: $("name").value });
  window.vidzzle = { client, role, room_id };
  client.addEventListener("track", ({ detail }) => {
    if (detail.track.kind === "video") {
      addVideo(detail.stream, `${detail.info.source || "video"} of ${detail.info.participant_id || "room"}`, detail.info.mid);
    } else {
      const audio = new Audio(); audio.srcObject = detail.stream; audio.play().catch(() => {});
    }
  });
  client.addEventListener("trackremoved", ({ detail }) => {
    document.querySelector(`figure[data-mid="${detail.info.mid}"]`)?.remove();
  });
  client.addEventListener("presentation", ({ detail }) => { $("page").textContent = `${detail.page} / ${detail.page_count}`; });
  client.addEventListener("participantjoined", ({ detail }) => status(`${detail.display_name} joined`));
  client.addEventListener("participantleft", () => status("someone left"));
  client.addEventListener("roomclosed", ({ detail }) => status(`room closed: ${detail.reason}`));
  client.addEventListener("servererror", ({ detail }) => status(`error: ${detail.code} ${detail.message}`));
  client.addEventListener("disconnected", () => { status("disconnected, reconnecting..."); setTimeout(() => client.reconnect(), 1000); });
  // media first: Firefox gathers ICE candidates only after getUserMedia was
  // granted (before, only the default route: none in a loopback namespace)
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
  addVideo(stream, "me", "local", true);
  const joined = await client.connect();
  if (joined.presentation) $("page").textContent = `${joined.presentation.page} / ${joined.presentation.page_count}`;
  $("pres").hidden = role !== "agent";
  await client.publish(stream);
  for (const id of ["leave", "mute-audio", "mute-video"]) $(id).disabled = false;
  status(`joined as ${joined.display_name} (${role})`);
}

$("join").addEventListener("click", () => join().catch((e) => status(`failed: ${e}`)));
$("leave").addEventListener("click", () => { client.leave(); status("left"); });
$("next").addEventListener("click", () => client.presentation("next"));
$("prev").addEventListener("click", () => client.presentation("previous"));
for (const kind of ["audio", "video"]) {
  $(`mute-${kind}`).addEventListener("click", () => { muted[kind] = !muted[kind]; client.setMuted(kind, muted[kind]); });
}
if (params.get("autojoin")) join().catch((e) => status(`failed: ${e}`));
