// SIP.js flavour of the browser far end: UserAgent + Registerer, Inviter to
// call, Invitation to answer; window.peer is what harness.js calls.
import { UserAgent, Registerer, Inviter, SessionState, Web } from 'sip.js';
import { toneStream, listen, audioLevel, stats, onlyVideoCodec, report } from './media.js';

let ua, registerer, session, opts = {};
let setupStart = 0;

// mediaStreamFactory gives SIP.js the test tone as the microphone and, once
// video is asked for (startVideo), Chromium's fake camera (a moving test
// pattern with a frame counter) beside it.
async function mediaStreamFactory(constraints) {
  const s = toneStream(opts.toneHz || 880);
  if (constraints && constraints.video) {
    const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 } });
    cam.getVideoTracks().forEach((t) => s.addTrack(t));
  }
  return s;
}

function watch(s) {
  session = s;
  // Parlo's share arrives as a re-INVITE adding a video m-line.
  s.sessionDescriptionHandlerModifiersReInvite = modifiers();
  s.sessionDescriptionHandlerOptionsReInvite = { constraints: { audio: true, video: false } };
  s.stateChange.addListener((st) => {
    report({ event: 'session', state: st, ms: setupStart ? Date.now() - setupStart : 0 });
    if (st === SessionState.Established) {
      const pc = s.sessionDescriptionHandler.peerConnection;
      listen(s.sessionDescriptionHandler.remoteMediaStream);
      pc.addEventListener('track', () => listen(s.sessionDescriptionHandler.remoteMediaStream));
    }
  });
}

function modifiers() {
  const codec = opts.videoCodec;
  return [(d) => Promise.resolve(codec ? { type: d.type, sdp: onlyVideoCodec(d.sdp, codec) } : d)];
}

window.peer = {
  // register: {server, uri, user, password, toneHz, videoCodec}
  async register(o) {
    opts = o;
    ua = new UserAgent({
      uri: UserAgent.makeURI(o.uri),
      authorizationUsername: o.user,
      authorizationPassword: o.password,
      transportOptions: { server: o.server },
      sessionDescriptionHandlerFactory: Web.defaultSessionDescriptionHandlerFactory(mediaStreamFactory),
      sessionDescriptionHandlerFactoryOptions: { iceGatheringTimeout: 500, peerConnectionConfiguration: { iceServers: [] } },
      logLevel: 'warn',
      delegate: {
        onInvite(inv) {
          setupStart = Date.now();
          report({ event: 'incoming', from: inv.remoteIdentity.uri.toString(), sdp: inv.request.body });
          watch(inv);
          inv.delegate = { onSessionDescriptionHandler() {} };
          if (opts.autoAnswer) window.peer.answer();
        },
      },
    });
    await ua.start();
    registerer = new Registerer(ua, { expires: 300 });
    await new Promise((resolve, reject) => {
      registerer.stateChange.addListener((st) => { if (st === 'Registered') resolve(); });
      registerer.register({ requestDelegate: { onReject: (r) => reject(new Error('REGISTER ' + r.message.statusCode)) } }).catch(reject);
    });
    return true;
  },
  async call(target) {
    setupStart = Date.now();
    const inv = new Inviter(ua, UserAgent.makeURI(target), {
      sessionDescriptionHandlerModifiersReInvite: modifiers(),
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    watch(inv);
    await inv.invite({
      requestDelegate: { onReject: (r) => report({ event: 'rejected', status: r.message.statusCode, reason: r.message.reasonPhrase }) },
    });
    return true;
  },
  async answer() {
    await session.accept({
      sessionDescriptionHandlerModifiers: modifiers(),
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    return true;
  },
  async hangup() {
    if (!session) return false;
    if (session.state === SessionState.Established) await session.bye();
    else if (session.reject) await session.reject();
    else await session.cancel();
    return true;
  },
  // startVideo adds the fake camera to the call: a re-INVITE whose offer
  // gains a sendrecv video line (restricted to opts.videoCodec if set).
  async startVideo() {
    session.sessionDescriptionHandlerOptionsReInvite = { constraints: { audio: true, video: true } };
    await new Promise((resolve, reject) => {
      session.invite({
        requestDelegate: {
          onAccept: () => resolve(),
          onReject: (r) => reject(new Error('re-INVITE ' + r.message.statusCode)),
        },
      }).catch(reject);
    });
    return true;
  },
  state() { return session ? session.state : ''; },
  audioLevel,
  async stats() {
    return stats(session && session.sessionDescriptionHandler && session.sessionDescriptionHandler.peerConnection);
  },
};
