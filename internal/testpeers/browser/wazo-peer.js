// Wazo SDK flavour of the browser far end: the SDK's own phone (Wazo.Phone,
// from its dist/wazo-sdk.js bundle loaded before this file) registers with
// connectWithCredentials, calls and answers; every Wazo.Phone event it emits
// is reported to Go.
import { toneStream, screenStream, listen, audioLevel, stats, report } from './media.js';

const Phone = window['@wazo/sdk'] ? window['@wazo/sdk'].Wazo.Phone : window.Wazo.Phone;
let opts = {}, current = null, setupStart = 0, registered = null;

// The SDK asks getUserMedia for its microphone; give it the test tone so the
// far end can check the frequency (the fake device's beep is not a steady tone).
const realGUM = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = async (c) => {
  if (c && c.audio && !c.video) return toneStream(opts.toneHz || 880);
  const s = await realGUM(c);
  if (c && c.audio) { s.getAudioTracks().forEach((t) => { s.removeTrack(t); t.stop(); }); toneStream(opts.toneHz || 880).getAudioTracks().forEach((t) => s.addTrack(t)); }
  return s;
};

// The SDK asks getDisplayMedia for the screen when it shares (constraints
// with screen: true); headless Chromium has no picker, so the page answers
// with a synthetic 1280x720 screen.
navigator.mediaDevices.getDisplayMedia = async () => screenStream(1280, 720);

function pc() {
  const s = Phone.getCurrentSipSession && Phone.getCurrentSipSession();
  return s && s.sessionDescriptionHandler && s.sessionDescriptionHandler.peerConnection;
}

// attached names the receiver tracks the analyser listens to: attach runs on
// every event and stats poll, and a fresh analyser reads silence until its
// window fills, so it only re-listens when the tracks changed.
let attached = '';
function attach() {
  const p = pc();
  if (!p) return;
  const tracks = p.getReceivers().map((r) => r.track).filter((t) => t && t.readyState === 'live');
  const key = tracks.map((t) => t.id).sort().join(',');
  if (key === attached) return;
  attached = key;
  listen(new MediaStream(tracks));
}

function hook() {
  for (const k of Object.keys(Phone).concat(Object.getOwnPropertyNames(Object.getPrototypeOf(Phone)))) {
    if (!k.startsWith('ON_') || typeof Phone[k] !== 'string') continue;
    const name = Phone[k];
    Phone.on(name, (arg) => {
      report({ event: 'wazo', name, ms: setupStart ? Date.now() - setupStart : 0 });
      if (k === 'ON_CALL_INCOMING') { current = arg; if (opts.autoAnswer) window.peer.answer(); }
      if (k === 'ON_CALL_ACCEPTED' || k === 'ON_CALL_ANSWERED' || k === 'ON_TRACK' || k === 'ON_VIDEO_STREAM' || k === 'ON_REINVITE') {
        if (k !== 'ON_REINVITE' && arg && arg.getId) current = arg;
        setTimeout(attach, 0);
      }
      if (k === 'ON_REGISTERED' && registered) registered();
    });
  }
}

window.peer = {
  // register: {server "host:port" of Kamailio's WSS, user, password, toneHz}
  async register(o) {
    opts = o;
    const done = new Promise((resolve) => { registered = resolve; });
    Phone.connectWithCredentials(o.server, { username: o.user, secret: o.password }, o.user, { media: { audio: true, video: false } });
    hook();
    await done;
    return true;
  },
  async call(target) {
    setupStart = Date.now();
    current = await Phone.call(target, false);
    return !!current;
  },
  async answer() {
    setupStart = setupStart || Date.now();
    await Phone.accept(current, false);
    return true;
  },
  // shareScreen shares "the screen" the way a Wazo app does on a call:
  // Phone.reinvite with screen constraints (the SDK upgrades the call's video
  // sender, or re-INVITEs with Subject: screenshare, and emits
  // onScreenShareStarted).
  async shareScreen() {
    await Phone.reinvite(current, { audio: false, video: true, screen: true, desktop: false });
    return true;
  },
  async stopScreenShare() { await Phone.stopScreenSharing(current, true); return true; },
  async hangup() { if (current) await Phone.hangup(current); return true; },
  state() { const s = Phone.getCurrentSipSession && Phone.getCurrentSipSession(); return s ? s.state : ''; },
  audioLevel,
  async stats() { attach(); return stats(pc()); },
};
