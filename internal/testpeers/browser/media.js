// Page-side media helpers shared by both flavours: the tone the browser
// sends (a WebAudio oscillator, so the far end can check its frequency), an
// analyser on what it receives, and getStats summaries.

let audioCtx;
function ctx() {
  if (!audioCtx) audioCtx = new AudioContext();
  return audioCtx;
}

// toneStream is a MediaStream with one audio track: a sine of hz at 0.3
// amplitude, like Parlo's own test tone.
export function toneStream(hz) {
  const c = ctx();
  const osc = c.createOscillator();
  osc.frequency.value = hz;
  const gain = c.createGain();
  gain.gain.value = 0.3;
  const dst = c.createMediaStreamDestination();
  osc.connect(gain).connect(dst);
  osc.start();
  return dst.stream;
}

// screenStream stands in for getDisplayMedia, which headless Chromium
// cannot serve without a person at a picker: a canvas of w x h ("the
// screen") with a bar sweeping across a fixed backdrop, captured at 30 fps.
// The SDK under test still does everything it does with a real screen
// (transceivers, re-INVITE, events); only the pixels are synthetic.
export function screenStream(w, h) {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  const g = c.getContext('2d');
  let x = 0;
  const paint = () => {
    g.fillStyle = '#204080'; g.fillRect(0, 0, w, h);
    g.fillStyle = '#f0f0f0'; g.fillRect(x, 0, w / 8, h);
    x = (x + 16) % w;
  };
  paint();
  setInterval(paint, 33);
  const s = c.captureStream(30);
  // A real screen track is a screencast source: Chromium keeps its
  // resolution and drops frame rate under a low bandwidth estimate; a
  // canvas track would be scaled down instead unless hinted the same way.
  s.getVideoTracks().forEach((t) => { t.contentHint = 'detail'; });
  return s;
}

let analyser;
// listen attaches a received stream: audio to an analyser (and to a muted
// audio element, which Chromium needs before remote WebRTC audio flows into
// WebAudio), video to the page's video element so it is decoded and shown.
export function listen(stream) {
  const a = document.getElementById('a');
  a.srcObject = stream; a.muted = true;
  const v = document.getElementById('v');
  v.srcObject = stream;
  v.play().catch(() => {});
  if (stream.getAudioTracks().length > 0) {
    const c = ctx();
    const src = c.createMediaStreamSource(new MediaStream(stream.getAudioTracks()));
    analyser = c.createAnalyser();
    analyser.fftSize = 8192;
    src.connect(analyser);
  }
}

// audioLevel is the dominant frequency (Hz) and RMS (0..1) of the received
// audio over the analyser's window.
export function audioLevel() {
  if (!analyser) return { hz: 0, rms: 0 };
  const t = new Float32Array(analyser.fftSize);
  analyser.getFloatTimeDomainData(t);
  let s = 0;
  for (const x of t) s += x * x;
  const f = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(f);
  let best = 0;
  for (let i = 1; i < f.length; i++) if (f[i] > f[best]) best = i;
  return { hz: best * ctx().sampleRate / analyser.fftSize, rms: Math.sqrt(s / t.length) };
}

// stats summarises getStats: audio packets both ways, and the received
// video's codec, size, frames and loss/repair counters.
export async function stats(pc) {
  const r = { audio: {}, video: {}, codecs: {} };
  if (!pc) return r;
  const rep = await pc.getStats();
  rep.forEach((s) => { if (s.type === 'codec') r.codecs[s.id] = s.mimeType; });
  rep.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      r.audio.packetsReceived = s.packetsReceived; r.audio.bytesReceived = s.bytesReceived;
      r.audio.audioLevel = s.audioLevel || 0; r.audio.totalSamplesReceived = s.totalSamplesReceived || 0;
      r.audio.concealedSamples = s.concealedSamples || 0; r.audio.codec = r.codecs[s.codecId] || '';
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      r.audio.packetsSent = s.packetsSent;
    } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
      r.videoSent = { codec: r.codecs[s.codecId] || '', framesEncoded: s.framesEncoded || 0,
        frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0, packetsSent: s.packetsSent || 0,
        pliCount: s.pliCount || 0, nackCount: s.nackCount || 0 };
    } else if (s.type === 'inbound-rtp' && s.kind === 'video') {
      Object.assign(r.video, {
        codec: r.codecs[s.codecId] || '', framesDecoded: s.framesDecoded || 0,
        framesReceived: s.framesReceived || 0, framesDropped: s.framesDropped || 0,
        frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
        framesPerSecond: s.framesPerSecond || 0, packetsReceived: s.packetsReceived || 0,
        packetsLost: s.packetsLost || 0, nackCount: s.nackCount || 0, pliCount: s.pliCount || 0,
        firCount: s.firCount || 0, bytesReceived: s.bytesReceived || 0,
        keyFramesDecoded: s.keyFramesDecoded || 0, totalDecodeTime: s.totalDecodeTime || 0,
        jitterBufferDelay: s.jitterBufferDelay || 0, jitterBufferEmittedCount: s.jitterBufferEmittedCount || 0,
        freezeCount: s.freezeCount || 0, decoderImplementation: s.decoderImplementation || '',
      });
    }
  });
  delete r.codecs;
  return r;
}

// onlyVideoCodec rewrites an SDP so its video m-lines carry only the payload
// types of codec (and their RTX), to force e.g. H.264 into Chromium's decoder.
export function onlyVideoCodec(sdp, codec) {
  if (!codec) return sdp;
  const sections = sdp.split(/\r\n(?=m=)/);
  return sections.map((sec) => {
    if (!sec.startsWith('m=video')) return sec;
    const lines = sec.split('\r\n');
    const keep = new Set();
    for (const l of lines) {
      const m = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
      if (m && m[2].toUpperCase() === codec.toUpperCase()) keep.add(m[1]);
    }
    for (const l of lines) {
      const m = /^a=fmtp:(\d+) apt=(\d+)/.exec(l);
      if (m && keep.has(m[2])) keep.add(m[1]);
    }
    const out = [];
    for (const l of lines) {
      if (l.startsWith('m=video')) {
        const p = l.split(' ');
        out.push(p.slice(0, 3).concat(p.slice(3).filter((x) => keep.has(x))).join(' '));
        continue;
      }
      const m = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)/.exec(l);
      if (m && !keep.has(m[1])) continue;
      out.push(l);
    }
    return out.join('\r\n');
  }).join('\r\n');
}

export function report(ev) {
  if (window.parloReport) window.parloReport(ev);
}
