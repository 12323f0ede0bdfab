import { setImmediate as nextTurn } from "node:timers/promises";
import { hashText, seededRandom } from "./prompt-cues.ts";

/**
 * adreel/draft-music: an original piece synthesised from the prompt, as a text-to-music model
 * would answer it. Tempo comes from "NNN bpm", major or minor from mood words, key and
 * progression from the seed. Pad chords, arpeggio, bass on the roots, kick on every beat,
 * snare on 2 and 4, hi-hat on the off-beats, with a quieter intro and outro.
 */

export const SAMPLE_RATE = 44_100;
export const DEFAULT_BPM = 100;

export interface MusicPlan {
  bpm: number;
  mode: "major" | "minor";
  /** Pitch class of the key, 0 = C. */
  tonic: number;
  /** Scale degrees (0-based) of the four chords, one per bar. */
  progression: number[];
}

const MAJOR_WORDS = ["uplifting", "energetic", "happy", "joyful", "upbeat", "playful", "triumphant", "optimistic", "fun", "cheerful", "inspiring", "hopeful", "bright", "confident", "positive", "celebratory", "summer", "warm"];
const MINOR_WORDS = ["moody", "dramatic", "melancholic", "melancholy", "sad", "dark", "tense", "mysterious", "somber", "sombre", "suspense", "suspenseful", "emotional", "nostalgic", "serious", "eerie", "brooding", "haunting", "noir"];
const SCALES = { major: [0, 2, 4, 5, 7, 9, 11], minor: [0, 2, 3, 5, 7, 8, 10] };
const PROGRESSIONS = {
  major: [
    [0, 4, 5, 3], // I V vi IV
    [0, 5, 3, 4], // I vi IV V
    [0, 3, 4, 3], // I IV V IV
  ],
  minor: [
    [0, 5, 2, 6], // i VI III VII
    [0, 3, 5, 4], // i iv VI v
    [0, 6, 5, 6], // i VII VI VII
  ],
};

export function planMusic(prompt: string, seed: number): MusicPlan {
  const tempo = /(\d{2,3}(?:\.\d+)?)\s*bpm/i.exec(prompt);
  const bpm = tempo ? Math.min(200, Math.max(50, Number(tempo[1]))) : DEFAULT_BPM;
  const words = prompt.toLowerCase().match(/[a-z]+/g) ?? [];
  const major = words.filter((w) => MAJOR_WORDS.includes(w)).length;
  const minor = words.filter((w) => MINOR_WORDS.includes(w)).length;
  const mode = minor > major ? "minor" : "major";
  const random = seededRandom(hashText(prompt) ^ Math.imul(seed + 1, 0x2545f491));
  const choices = PROGRESSIONS[mode];
  return { bpm, mode, tonic: Math.floor(random() * 12), progression: choices[Math.floor(random() * choices.length)]! };
}

const midiToHz = (midi: number) => 440 * 2 ** ((midi - 69) / 12);

/** Degree's triad as MIDI notes, each tone folded into [low, low + 12) for smooth voice leading. */
function triad(plan: MusicPlan, degree: number, low: number): number[] {
  const scale = SCALES[plan.mode];
  return [0, 2, 4].map((step) => {
    const index = degree + step;
    const pitchClass = plan.tonic + scale[index % 7]! + 12 * Math.floor(index / 7);
    return low + ((((pitchClass - low) % 12) + 12) % 12);
  });
}

/** One cycle of a few harmonics: warmer than a sine, cheap to play back from a table. */
function wavetable(harmonics: number[]): Float32Array {
  const size = 4096;
  const table = new Float32Array(size + 1);
  const norm = harmonics.reduce((sum, h) => sum + h, 0);
  for (let i = 0; i <= size; i++) {
    let v = 0;
    for (let k = 0; k < harmonics.length; k++) v += harmonics[k]! * Math.sin((2 * Math.PI * (k + 1) * i) / size);
    table[i] = v / norm;
  }
  return table;
}
const PAD = wavetable([1, 0.45, 0.25, 0.12, 0.06]);
const PLUCK = wavetable([1, 0.3, 0.1]);
const BASS = wavetable([1, 0.35, 0.15]);

class Track {
  readonly left: Float32Array;
  readonly right: Float32Array;
  readonly length: number;
  constructor(length: number) {
    this.length = length;
    this.left = new Float32Array(length);
    this.right = new Float32Array(length);
  }

  /** A tone from a wavetable; `envelope(t)` in seconds since the note start. */
  tone(start: number, seconds: number, hz: number, table: Float32Array, gain: number, pan: number, envelope: (t: number) => number): void {
    const first = Math.max(0, Math.round(start));
    const last = Math.min(this.length, first + Math.round(seconds * SAMPLE_RATE));
    const step = (hz * (table.length - 1)) / SAMPLE_RATE;
    const [gl, gr] = [gain * Math.sqrt((1 - pan) / 2), gain * Math.sqrt((1 + pan) / 2)];
    let phase = 0;
    const size = table.length - 1;
    for (let i = first; i < last; i++) {
      const whole = phase | 0;
      const v = (table[whole]! + (table[whole + 1]! - table[whole]!) * (phase - whole)) * envelope((i - first) / SAMPLE_RATE);
      this.left[i]! += v * gl;
      this.right[i]! += v * gr;
      phase += step;
      if (phase >= size) phase -= size;
    }
  }

  /** A mono sample (drum hit) added at `start`. */
  hit(start: number, samples: Float32Array, gain: number, pan: number): void {
    const first = Math.round(start);
    const [gl, gr] = [gain * Math.sqrt((1 - pan) / 2), gain * Math.sqrt((1 + pan) / 2)];
    for (let j = 0; j < samples.length && first + j < this.length; j++) {
      if (first + j < 0) continue;
      this.left[first + j]! += samples[j]! * gl;
      this.right[first + j]! += samples[j]! * gr;
    }
  }
}

function kick(): Float32Array {
  const out = new Float32Array(Math.round(0.32 * SAMPLE_RATE));
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / SAMPLE_RATE;
    phase += (2 * Math.PI * (46 + 110 * Math.exp(-t / 0.035))) / SAMPLE_RATE;
    out[i] = Math.sin(phase) * Math.exp(-t / 0.16) * Math.min(1, t / 0.002);
  }
  return out;
}

function snare(random: () => number): Float32Array {
  const out = new Float32Array(Math.round(0.25 * SAMPLE_RATE));
  let previous = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / SAMPLE_RATE;
    const noise = random() * 2 - 1;
    const bright = noise - previous * 0.8; // crude high-pass: the rattle, not the rumble
    previous = noise;
    out[i] = 0.75 * bright * Math.exp(-t / 0.09) + 0.5 * Math.sin(2 * Math.PI * 185 * t) * Math.exp(-t / 0.05);
  }
  return out;
}

function hat(random: () => number): Float32Array {
  const out = new Float32Array(Math.round(0.07 * SAMPLE_RATE));
  let [a, b] = [0, 0];
  for (let i = 0; i < out.length; i++) {
    const noise = random() * 2 - 1;
    // Second difference of white noise: energy pushed up toward the top octaves.
    out[i] = (noise - 2 * a + b) * 0.5 * Math.exp(-i / SAMPLE_RATE / 0.025);
    b = a;
    a = noise;
  }
  return out;
}

export interface MusicAudio {
  left: Float32Array;
  right: Float32Array;
  plan: MusicPlan;
}

/**
 * Synthesis is plain CPU work (about 1 s per 100 s of music); it yields to the event loop
 * every bar so the server keeps answering while a long piece renders.
 */
export async function synthesizeMusic(plan: MusicPlan, seconds: number, seed: number): Promise<MusicAudio> {
  const length = Math.round(seconds * SAMPLE_RATE);
  const track = new Track(length);
  const random = seededRandom(seed ^ 0x6d757369);
  const beat = (60 / plan.bpm) * SAMPLE_RATE;
  const bar = 4 * beat;
  const beats = Math.ceil(length / beat);
  // Energy shape: a thinner intro and outro around the full groove (drum pulse stays on).
  const edge = Math.min(2 * bar, 0.2 * length);
  const energy = (at: number) => Math.min(1, 0.35 + (0.65 * at) / edge, 0.35 + (0.65 * (length - at)) / edge);

  const kickHit = kick();
  const snareHits = [snare(random), snare(random)];
  const hatHits = [hat(random), hat(random), hat(random)];
  const arpPattern = [[0, 1, 2, 1], [0, 2, 1, 2], [2, 1, 0, 1]][Math.floor(random() * 3)]!;
  const pluck = (t: number) => Math.min(1, t / 0.004) * Math.exp(-t / 0.22);
  const bassEnvelope = (length: number) => (t: number) => Math.min(1, t / 0.005) * (0.6 + 0.4 * Math.exp(-t / 0.12)) * Math.min(1, (length - t) / 0.03);

  for (let b = 0; b < beats; b++) {
    const start = b * beat;
    const inBar = b % 4;
    if (inBar === 0 && b > 0) await nextTurn();
    const chordIndex = Math.floor(b / 4) % plan.progression.length;
    const degree = plan.progression[chordIndex]!;
    const e = energy(start);
    if (inBar === 0) {
      const barSeconds = bar / SAMPLE_RATE;
      const envelope = (t: number) => Math.min(1, t / 0.06) * Math.max(0, Math.min(1, (barSeconds + 0.12 - t) / 0.12));
      triad(plan, degree, 57).forEach((midi, voice) => {
        const hz = midiToHz(midi);
        // Slightly detuned left and right: a wide pad from a mono idea.
        track.tone(start, barSeconds + 0.12, hz * 0.9985, PAD, 0.055, -0.6 + 0.3 * voice, envelope);
        track.tone(start, barSeconds + 0.12, hz * 1.0015, PAD, 0.055, 0.0 + 0.3 * voice, envelope);
      });
    }
    const root = triad(plan, degree, 36)[0]!;
    const bassSeconds = (0.9 * beat) / SAMPLE_RATE;
    track.tone(start, bassSeconds, midiToHz(root), BASS, 0.3 * (0.6 + 0.4 * e), 0, bassEnvelope(bassSeconds));
    const arp = triad(plan, degree, 69);
    for (let half = 0; half < 2; half++) {
      const note = arp[arpPattern[(inBar * 2 + half) % 4]!]!;
      track.tone(start + (half * beat) / 2, 0.3, midiToHz(note), PLUCK, 0.09 * e, half ? 0.4 : -0.4, pluck);
    }
    track.hit(start, kickHit, 0.85, 0);
    if (inBar === 1 || inBar === 3) track.hit(start, snareHits[b % 2]!, 0.3 * e, -0.1);
    track.hit(start + beat / 2, hatHits[b % 3]!, 0.22 * e, 0.3);
  }

  // Gentle saturation, short fades at both ends, then peak at -1 dBFS.
  const fadeIn = Math.round(0.01 * SAMPLE_RATE);
  const fadeOut = Math.round(Math.min(1.5, 0.1 * seconds) * SAMPLE_RATE);
  let peak = 1e-9;
  for (const channel of [track.left, track.right]) {
    for (let i = 0; i < length; i++) {
      const fade = Math.min(1, i / fadeIn, (length - i) / fadeOut);
      const v = Math.tanh(channel[i]! * 1.2) * fade;
      channel[i] = v;
      if (v > peak) peak = v;
      else if (-v > peak) peak = -v;
      if (i % SAMPLE_RATE === 0) await nextTurn();
    }
  }
  const gain = 10 ** (-1 / 20) / peak;
  for (const channel of [track.left, track.right]) for (let i = 0; i < length; i++) channel[i] = channel[i]! * gain;
  return { left: track.left, right: track.right, plan };
}

/** 16-bit PCM stereo WAV. */
export function encodeWav(left: Float32Array, right: Float32Array, sampleRate = SAMPLE_RATE): Buffer {
  const frames = left.length;
  const data = frames * 4;
  const wav = Buffer.alloc(44 + data);
  wav.write("RIFF", 0, "ascii");
  wav.writeUInt32LE(36 + data, 4);
  wav.write("WAVE", 8, "ascii");
  wav.write("fmt ", 12, "ascii");
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(2, 22);
  wav.writeUInt32LE(sampleRate, 24);
  wav.writeUInt32LE(sampleRate * 4, 28);
  wav.writeUInt16LE(4, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36, "ascii");
  wav.writeUInt32LE(data, 40);
  // WAV is little-endian, as is every platform Node runs on here: write through a typed view.
  const samples = new Int16Array(wav.buffer, wav.byteOffset + 44, frames * 2);
  const pcm = (v: number) => Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  for (let i = 0; i < frames; i++) {
    samples[2 * i] = pcm(left[i]!);
    samples[2 * i + 1] = pcm(right[i]!);
  }
  return wav;
}

export async function composeDraftMusic(prompt: string, seconds: number, seed: number): Promise<{ wav: Buffer; plan: MusicPlan }> {
  const audio = await synthesizeMusic(planMusic(prompt, seed), seconds, seed);
  return { wav: encodeWav(audio.left, audio.right), plan: audio.plan };
}
