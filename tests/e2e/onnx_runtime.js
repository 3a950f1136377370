// Runs an ONNX model in onnxruntime (the npm package onnxruntime-node, its CPU library): one
// float32 .npy holding a batch [N, 3, H, W] in, every graph output out as OUT_DIR/<output>.npy.
// Usage: node onnx_runtime.js MODULES_DIR MODEL INPUT.npy OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [modulesDir, modelPath, inputPath, outDir] = process.argv.slice(2);
const ort = require(path.join(modulesDir, 'onnxruntime-node'));

function readNpy(file) {
    const buf = fs.readFileSync(file);
    if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
    const major = buf[6];
    const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
    const start = major === 1 ? 10 : 12;
    const header = buf.toString('latin1', start, start + headerLen);
    if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
        throw new Error(`${file}: expected little-endian float32 in C order, header ${header}`);
    const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter(s => s.trim()).map(Number);
    const offset = start + headerLen;
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + buf.length));
    return { data, shape };
}

function writeNpy(file, data, shape) {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
    const pad = 64 - ((10 + header.length + 1) % 64);
    header += ' '.repeat(pad % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head[7] = 0;
    head.writeUInt16LE(header.length, 8);
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

(async () => {
    const session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], graphOptimizationLevel: process.env.ORT_OPT || 'all' });
    const input = readNpy(inputPath);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.shape) };
    const results = await session.run(feeds);
    fs.mkdirSync(outDir, { recursive: true });
    for (const name of session.outputNames) {
        const t = results[name];
        writeNpy(path.join(outDir, `${name}.npy`), t.data, t.dims);
        console.log(`${name}: [${t.dims.join(', ')}]`);
    }
})().catch(e => {
    console.error(`onnxruntime: ${e.message}`);
    process.exit(1);
});
