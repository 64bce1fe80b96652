// Ringing tone made with WebAudio (no audio files): two short 440/480 Hz
// bursts every 2 s, like a phone. Browsers keep an AudioContext suspended
// until the first user gesture; unlock() is called on any click.
let ctx = null;
let timer = null;

function context() {
  if (!ctx) ctx = new (window.AudioContext || window.webkitAudioContext)();
  return ctx;
}

export function unlock() { context().resume().catch(() => {}); }

function burst(at, length) {
  const c = context();
  const gain = c.createGain();
  gain.gain.setValueAtTime(0, at);
  gain.gain.linearRampToValueAtTime(0.15, at + 0.02);
  gain.gain.setValueAtTime(0.15, at + length - 0.05);
  gain.gain.linearRampToValueAtTime(0, at + length);
  gain.connect(c.destination);
  for (const freq of [440, 480]) {
    const osc = c.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    osc.start(at);
    osc.stop(at + length);
  }
}

function pattern() {
  const c = context();
  const t = c.currentTime + 0.01;
  burst(t, 0.4);
  burst(t + 0.6, 0.4);
}

export function startRinging() {
  if (timer) return;
  try { context().resume().catch(() => {}); pattern(); } catch (e) { /* no audio device */ }
  timer = setInterval(() => { try { pattern(); } catch (e) { /* ignore */ } }, 2000);
}

export function stopRinging() {
  clearInterval(timer);
  timer = null;
}

export function isRinging() { return timer !== null; }
