// Vidzzle room client: one WebSocket + two peer connections per participant.
//
// Reused by the dev page (/dev/room) and, later, the customer and agent
// pages. The PUBLISH PC is only ever offered by us; the SUBSCRIBE PC is only
// ever offered by the server (docs/signalling.md): no glare.
//
// Call getUserMedia BEFORE connect(): Firefox gathers ICE candidates only once
// media permission was granted (otherwise only the default-route address).
//
//   const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
//   const client = new RoomClient({ url: "/ws/room", token, displayName });
//   client.addEventListener("track", (e) => show(e.detail.track, e.detail.info));
//   await client.connect();
//   await client.publish(stream);
//
// Events (CustomEvent, payload in .detail): joined, track {track, stream, info},
// trackremoved {info}, participantjoined, participantleft, mute, presentation,
// roomclosed {reason}, rejoin {reason}, servererror {code, message, ref},
// disconnected, reconnected.
//
// "rejoin" (reason worker_lost): the room's media moved to another media
// worker. The server closes the socket right after it; that close is an
// ordinary "disconnected", so a page with autoRejoin (connection.js) joins
// again with the same token at once.

function preferVp8(transceiver) {
  if (!window.RTCRtpSender || !RTCRtpSender.getCapabilities || !transceiver.setCodecPreferences) return;
  const codecs = RTCRtpSender.getCapabilities("video").codecs;
  const rank = (c) => (c.mimeType === "video/VP8" ? 0 : c.mimeType === "video/rtx" ? 1 : 2);
  // VP8 first (every leg of a room must share the codec), then RTX; nothing else
  transceiver.setCodecPreferences(codecs.filter((c) => rank(c) < 2).sort((a, b) => rank(a) - rank(b)));
}

export class RoomClient extends EventTarget {
  constructor({ url = "/ws/room", token, displayName = "", iceServers = [], reconnect = true } = {}) {
    super();
    this.url = new URL(url, location.href);
    this.url.protocol = this.url.protocol === "https:" ? "wss:" : "ws:";
    this.token = token;
    this.displayName = displayName;
    this.iceServers = iceServers;
    this.autoReconnect = reconnect;
    this.stream = null;
    this.tracks = new Map(); // mid -> track info from the server
    this.closed = false;
    this.muted = { audio: false, video: false }; // what we told the server (sent again after a re-join)
    this._pending = new Map(); // request id -> {resolve, reject}
    this._seq = 0;
    this._subscribeChain = Promise.resolve();
  }

  _emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  _described(pc) {
    pc._described = true;
    for (const msg of pc._early.splice(0)) this._send(msg);
  }

  _newPc(name) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    // Candidates go out only after the description they belong to: Firefox
    // fires icecandidate before setLocalDescription() resolves.
    pc._described = false;
    pc._early = [];
    pc.addEventListener("icecandidate", (e) => {
      if (e.candidate && e.candidate.candidate) {
        const msg = { type: "candidate", pc: name, candidate: e.candidate.candidate,
                      sdp_mid: e.candidate.sdpMid, sdp_mline_index: e.candidate.sdpMLineIndex };
        if (pc._described) this._send(msg); else pc._early.push(msg);
      }
    });
    pc.addEventListener("connectionstatechange", () => this._emit("connectionstate", { pc: name, state: pc.connectionState }));
    return pc;
  }

  // Open the socket and join; resolves with the server's "joined" message.
  async connect() {
    this.subscribePc = this._newPc("subscribe");
    this.tracks = new Map();  // a (re-)join starts with a fresh subscribe PC
    this._shown = new Set(); // consumer ids already announced with a "track" event
    this.ws = new WebSocket(this.url);
    this.ws.addEventListener("message", (e) => this._onMessage(JSON.parse(e.data)));
    this.ws.addEventListener("close", () => this._onClose());
    await new Promise((resolve, reject) => {
      this.ws.addEventListener("open", resolve, { once: true });
      this.ws.addEventListener("error", reject, { once: true });
    });
    this.joined = await this._request({ type: "join", token: this.token, display_name: this.displayName }, "joined");
    this._emit("joined", this.joined);
    return this.joined;
  }

  // Send our camera/microphone on the publish PC (one encoding, VP8 first).
  async publish(stream) {
    this.stream = stream;
    this.publishPc = this._newPc("publish");
    for (const track of stream.getTracks()) {
      const t = this.publishPc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      if (track.kind === "video") preferVp8(t);
    }
    await this._negotiatePublish();
  }

  async _negotiatePublish() {
    // serialized: a "needs negotiation" flag loops until clear
    this._needsPublish = true;
    if (this._publishing) return this._publishing;
    this._publishing = (async () => {
      while (this._needsPublish) {
        this._needsPublish = false;
        await this.publishPc.setLocalDescription(await this.publishPc.createOffer());
        const pending = this._request({ type: "offer", pc: "publish", sdp: this.publishPc.localDescription.sdp }, "answer");
        this._described(this.publishPc);
        const answer = await pending;
        await this.publishPc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      }
    })().finally(() => { this._publishing = null; });
    return this._publishing;
  }

  _onSubscribeOffer(msg) {
    for (const t of msg.tracks) this.tracks.set(t.mid, t);
    this._subscribeChain = this._subscribeChain.then(async () => {
      await this.subscribePc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
      await this.subscribePc.setLocalDescription(await this.subscribePc.createAnswer());
      this._send({ type: "answer", pc: "subscribe", sdp: this.subscribePc.localDescription.sdp });
      this._described(this.subscribePc);
      this._announceTracks();
    }).catch((err) => this._emit("servererror", { code: "client_negotiation", message: String(err) }));
  }

  // One "track" event per server consumer. Not tied to RTCPeerConnection's
  // ontrack: the server reuses freed m-lines for the next publisher, and a
  // reused m-line that never went inactive fires no new ontrack.
  _announceTracks() {
    for (const t of this.subscribePc.getTransceivers()) {
      const info = this.tracks.get(t.mid);
      if (!info || this._shown.has(info.consumer_id) || !t.currentDirection || !t.currentDirection.includes("recv")) continue;
      this._shown.add(info.consumer_id);
      const track = t.receiver.track;
      this._emit("track", { track, stream: new MediaStream([track]), info, transceiver: t });
    }
  }

  _onMessage(msg) {
    if (msg.type === "joined") this._useIceServers(msg.ice_servers || []);
    const waiter = msg.ref && this._pending.get(msg.ref);
    if (waiter) {
      this._pending.delete(msg.ref);
      if (msg.type === "error") waiter.reject(Object.assign(new Error(msg.message), { code: msg.code }));
      else waiter.resolve(msg);
    }
    switch (msg.type) {
      case "offer": return this._onSubscribeOffer(msg);
      case "track_added": this.tracks.set(msg.mid, msg); return;
      case "track_removed": this._emit("trackremoved", { info: this.tracks.get(msg.mid) || msg }); this.tracks.delete(msg.mid); return;
      case "participant_joined": return this._emit("participantjoined", msg);
      case "participant_left": return this._emit("participantleft", msg);
      case "mute": return this._emit("mute", msg);
      case "presentation_state": return this._emit("presentation", msg);
      case "room_closed": this.closed = true; return this._emit("roomclosed", msg);
      case "rejoin": return this._emit("rejoin", msg);
      case "error": if (!waiter) this._emit("servererror", msg); return;
    }
  }

  // The server's relay (TURN over TCP/TLS, for networks that block UDP)
  // comes with "joined": before the subscribe PC gathers (it answers the
  // server's offer only after joining) and before the publish PC exists.
  _useIceServers(servers) {
    if (!servers.length) return;
    this.iceServers = servers;
    if (this.subscribePc) {
      try { this.subscribePc.setConfiguration({ ...this.subscribePc.getConfiguration(), iceServers: servers }); }
      catch (err) { console.warn("relay not applied to the subscribe connection", err); }
    }
  }

  _send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  _request(msg, replyType) {
    const id = `r${++this._seq}`;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      this._send({ ...msg, id });
      setTimeout(() => {
        if (this._pending.delete(id)) reject(new Error(`no ${replyType} within 15 s`));
      }, 15000);
    });
  }

  setMuted(kind, muted) {
    if (this.stream) for (const t of this.stream.getTracks()) if (t.kind === kind) t.enabled = !muted;
    this.muted[kind] = muted;
    this._send({ type: "mute", kind, muted });
  }

  // Agent only: "next", "previous", {command:"goto", page}, {command:"switch", document_id}
  presentation(command, args = {}) {
    return this._request({ type: "presentation", command, ...args }, "presentation_state");
  }

  // The server's pong within `timeoutMs` ({receiving}: whether it gets our
  // media), or null: this client's own path to the server is gone.
  ping(timeoutMs = 500) {
    const answered = this._request({ type: "ping" }, "pong").then((pong) => pong, () => null);
    return Promise.race([answered, new Promise((r) => setTimeout(() => r(null), timeoutMs))]);
  }

  // Reconnect hook: a new socket and PCs with the same token; the server
  // replaces the old connection. Call from a "disconnected" listener.
  async reconnect() {
    this._closePcs();
    await this.connect();
    if (this.stream) await this.publish(this.stream);
    // the server's participant is new: it starts unmuted
    for (const [kind, muted] of Object.entries(this.muted)) if (muted) this._send({ type: "mute", kind, muted });
    this._emit("reconnected", {});
  }

  _onClose() {
    // After leave() or room_closed nobody waits for an answer any more: the
    // pending requests are dropped instead of rejected (a rejection nobody
    // handles is a page error); a dropped connection rejects them (re-join).
    if (!this.closed) for (const w of this._pending.values()) w.reject(new Error("socket closed"));
    this._pending.clear();
    if (!this.closed) this._emit("disconnected", {});
  }

  _closePcs() {
    if (this.publishPc) this.publishPc.close();
    if (this.subscribePc) this.subscribePc.close();
    this.publishPc = this.subscribePc = null;
  }

  leave() {
    this.closed = true;
    this.left = true;        // stops an automatic re-join loop (connection.js)
    this._send({ type: "leave" });
    this._closePcs();
    if (this.ws) this.ws.close();
  }

  // Counters for tests and diagnostics (framesDecoded, samples received...).
  async stats() {
    const out = { inboundVideo: [], inboundAudio: [], outbound: [] };
    for (const pc of [this.publishPc, this.subscribePc]) {
      if (!pc) continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") out.inboundVideo.push({ mid: s.mid, framesDecoded: s.framesDecoded || 0, width: s.frameWidth });
        if (s.type === "inbound-rtp" && s.kind === "audio") out.inboundAudio.push({ mid: s.mid, totalSamplesReceived: s.totalSamplesReceived || 0 });
        if (s.type === "outbound-rtp") out.outbound.push({ kind: s.kind, packetsSent: s.packetsSent });
      });
    }
    return out;
  }
}
