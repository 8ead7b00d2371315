#!/usr/bin/env node
// Independent reference for the face-recognition model converter: runs
// face-api.js's own FaceRecognitionNet (its bundled tfjs, CPU backend) on the
// original TF.js weights, so a C++ descriptor can be checked against code that
// shares nothing with our converter or dlib.
//
// Usage:
//   node tools/faceapi_reference.mjs --model-dir DIR --chips FILE [--input-scale 255|256]
//
// DIR holds dist/face-api.esm.js, face_recognition_model-weights_manifest.json
// and face_recognition_model.bin (scripts/fetch_models.sh puts them in
// models/face-api-1.7.15). FILE holds N chips back to back, each 150x150x3 RGB
// uint8, row-major. Prints {"descriptors": [[128 numbers], ...]} on stdout.
//
// face-api.js normalises pixels as (x - mean) / 255 and dlib as (x - mean) / 256.
// With --input-scale 256 the chips are pre-scaled so that face-api's forward
// pass sees dlib's normalisation: then both sides compute the same function and
// must agree to float rounding, which checks the weight mapping more tightly.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const kChipSide = 150;
const kChipBytes = kChipSide * kChipSide * 3;
const kMeanRgb = [122.782, 117.001, 104.298];

function fail(message) {
  process.stderr.write(`faceapi_reference: ${message}\n`);
  process.exit(1);
}

// The ESM bundle is built for browsers: its Node platform shim needs the
// `util` module, which the bundle stubs out, so it throws on import. Hiding
// `process` while the bundle loads skips that shim; we then install a minimal
// platform built on Node's own globals.
async function importFaceApi(modelDir) {
  const bundle = pathToFileURL(path.join(modelDir, 'dist', 'face-api.esm.js')).href;
  const savedProcess = globalThis.process;
  globalThis.process = undefined;
  let faceapi;
  try {
    faceapi = await import(bundle);
  } finally {
    globalThis.process = savedProcess;
  }
  faceapi.tf.env().setPlatform('node', {
    fetch: (url, init) => fetch(url, init),
    now: () => performance.now(),
    encode: (text) => new TextEncoder().encode(text),
    decode: (bytes, encoding) => new TextDecoder(encoding).decode(bytes),
    isTypedArray: (value) => ArrayBuffer.isView(value) && !(value instanceof DataView),
  });
  // face-api's own environment (media element classes) is also left unset;
  // we only pass tensors, so placeholder classes are enough.
  faceapi.env.setEnv(faceapi.env.createNodejsEnv());
  return faceapi;
}

async function loadRecognitionNet(faceapi, modelDir) {
  const manifest = JSON.parse(
    await readFile(path.join(modelDir, 'face_recognition_model-weights_manifest.json'), 'utf8'));
  const bin = await readFile(path.join(modelDir, 'face_recognition_model.bin'));
  const specs = manifest.flatMap((group) => group.weights);
  // tfjs's own decoder (dequantisation included), not ours.
  const arrayBuffer = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const weightMap = faceapi.tf.io.decodeWeights(arrayBuffer, specs);
  const net = new faceapi.FaceRecognitionNet();
  net.loadFromWeightMap(weightMap);
  return net;
}

function chipTensors(faceapi, bytes, inputScale) {
  if (bytes.length === 0 || bytes.length % kChipBytes !== 0) {
    fail(`chip file has ${bytes.length} bytes, not a positive multiple of ${kChipBytes}`);
  }
  const ratio = inputScale / 255;
  const tensors = [];
  for (let offset = 0; offset < bytes.length; offset += kChipBytes) {
    const values = new Float32Array(kChipBytes);
    for (let i = 0; i < kChipBytes; ++i) {
      const pixel = bytes[offset + i];
      const mean = kMeanRgb[i % 3];
      values[i] = inputScale === 255 ? pixel : mean + (pixel - mean) / ratio;
    }
    tensors.push(faceapi.tf.tensor3d(values, [kChipSide, kChipSide, 3], 'float32'));
  }
  return tensors;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      'model-dir': { type: 'string' },
      chips: { type: 'string' },
      'input-scale': { type: 'string', default: '255' },
    },
  });
  if (!args['model-dir'] || !args.chips) {
    fail('usage: faceapi_reference.mjs --model-dir DIR --chips FILE [--input-scale 255|256]');
  }
  const inputScale = Number(args['input-scale']);
  if (inputScale !== 255 && inputScale !== 256) fail('--input-scale must be 255 or 256');

  const faceapi = await importFaceApi(args['model-dir']);
  await faceapi.tf.setBackend('cpu');
  await faceapi.tf.ready();
  const net = await loadRecognitionNet(faceapi, args['model-dir']);

  const tensors = chipTensors(faceapi, await readFile(args.chips), inputScale);
  const descriptors = [];
  // One chip per call: face-api treats an array input as a batch and would
  // return the same thing, but one at a time keeps peak memory flat.
  for (const tensor of tensors) {
    const descriptor = await net.computeFaceDescriptor(tensor);
    descriptors.push(Array.from(descriptor));
    tensor.dispose();
  }
  process.stdout.write(JSON.stringify({ descriptors }) + '\n');
}

main().catch((error) => fail(error.stack || String(error)));
