// comments_service widget: the guests' proof of work (services/guest_challenge.py, SECURITY.md).
// embed.js loads this only when a guest starts writing or posts: readers and signed-in commenters
// never download it. It fetches a challenge in ALTCHA's format, tries numbers until
// sha256(salt + number) is the challenge, and hands back ALTCHA's payload for the post.
// (Line comments are left out when the script is served: api/pages.py compact_script.)
(() => {
'use strict';
// SHA-256 in plain JavaScript, for the short ASCII strings a challenge hashes: measured about eight
// times faster than a crypto.subtle.digest call per number (each is a promise), and it works on
// pages served over plain http too, where crypto.subtle is missing
const K = new Uint32Array([0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
const W = new Int32Array(64), H = new Int32Array(8);
// msg: an ASCII string (a salt is; services/guest_challenge.py); the 8 words of H are reused between calls
function sha256Words(msg) {
  const len = msg.length, blocks = ((len + 9 + 63) >> 6);
  H[0]=0x6a09e667;H[1]=0xbb67ae85;H[2]=0x3c6ef372;H[3]=0xa54ff53a;H[4]=0x510e527f;H[5]=0x9b05688c;H[6]=0x1f83d9ab;H[7]=0x5be0cd19;
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) {
      let w = 0;
      for (let j = 0; j < 4; j++) {
        const p = b * 64 + i * 4 + j;
        const c = p < len ? msg.charCodeAt(p) : p === len ? 0x80 : 0;
        w = (w << 8) | c;
      }
      W[i] = w;
    }
    if (b === blocks - 1) { W[14] = (len / 0x20000000) | 0; W[15] = len << 3; }
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15], y = W[i - 2];
      W[i] = (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + W[i - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10)) + W[i - 16] | 0;
    }
    let a = H[0], bb = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let i = 0; i < 64; i++) {
      const t1 = h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i] + W[i] | 0;
      const t2 = (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & bb) ^ (a & c) ^ (bb & c)) | 0;
      h = g; g = f; f = e; e = d + t1 | 0; d = c; c = bb; bb = a; a = t1 + t2 | 0;
    }
    H[0] = H[0] + a | 0; H[1] = H[1] + bb | 0; H[2] = H[2] + c | 0; H[3] = H[3] + d | 0;
    H[4] = H[4] + e | 0; H[5] = H[5] + f | 0; H[6] = H[6] + g | 0; H[7] = H[7] + h | 0;
  }
  return H;
}

// the page stays responsive: numbers are tried in slices of SLICE_MS, then the browser gets a turn
// (a message, which unlike setTimeout is not clamped to 4 ms when repeated)
const SLICE_MS = 12;
const channel = new MessageChannel(), turns = [];
channel.port1.onmessage = () => turns.shift()();
const yieldTurn = () => new Promise((ok) => { turns.push(ok); channel.port2.postMessage(0); });
// a solution this close to its expiry is not worth sending: fetch a new one
const MARGIN_MS = 60000;
// the reader sees a word about the check (embed.js's, in their language) only when it takes this long
const SLOW_MS = 300;

async function solve(c) {
  const want = new Int32Array(8);
  for (let i = 0; i < 8; i++) want[i] = parseInt(c.challenge.substr(i * 8, 8), 16) | 0;
  let n = 0;
  while (n <= c.maxnumber) {
    const until = performance.now() + SLICE_MS;
    for (; n <= c.maxnumber && (n & 255 || performance.now() < until); n++) {
      const h = sha256Words(c.salt + n);
      if (h[0] === want[0] && h[1] === want[1] && h[2] === want[2] && h[3] === want[3] && h[4] === want[4]
          && h[5] === want[5] && h[6] === want[6] && h[7] === want[7]) return n;
    }
    await yieldTurn();
  }
  return null;
}
// {payload, expires} or null when the service asks none (204), refuses guests, or is away:
// the post then goes without, and the service's answer says what is wrong
async function fresh(api, site) {
  const r = await fetch(api + '/challenge?site=' + encodeURIComponent(site), {cache: 'no-store', headers: {Accept: 'application/json'}});
  if (r.status !== 200) return null;
  const c = await r.json(), began = performance.now();
  const number = await solve(c);
  if (number == null) return null;
  const took = Math.round(performance.now() - began);
  // the last solve's time, for whoever measures it (the browser tests, SECURITY.md's numbers)
  window.commentsServiceSolveMs = took;
  const expires = +new URLSearchParams(c.salt.split('?')[1] || '').get('expires') * 1000;
  const payload = btoa(JSON.stringify({algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature, took}));
  return {payload, expires};
}

let pending = null;
// take falsy: start solving ahead (a guest began writing); take truthy: the payload for the post
// now (solved ahead or now), never handed out twice. slow(): called when the reader waits long.
window.csPow = (api, site, take, slow) => {
  if (!take) {
    if (!pending) pending = fresh(api, site).catch(() => null);
    return pending.then(() => null);
  }
  // none ready (none asked, or asking failed) or too close to its expiry: ask again now
  const mine = (pending || Promise.resolve(null)).then((s) => s && s.expires - Date.now() > MARGIN_MS ? s : fresh(api, site));
  pending = null;
  let done = false;
  const timer = setTimeout(() => { if (!done && slow) slow(); }, SLOW_MS);
  return mine.catch(() => null).then((s) => { done = true; clearTimeout(timer); return s && s.payload; });
};
})();
