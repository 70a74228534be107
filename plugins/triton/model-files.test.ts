import { describe, expect, it } from 'vitest';
import { checkConfig, fileSegments, placeFiles, readConfigFacts } from './model-files.ts';

const file = (filename: string, bytes = 1) => ({ field: 'files[]', filename, path: `/staged/${filename}`, bytes, mimeType: 'application/octet-stream' });

describe('upload file names', () => {
  it.each([
    ['../x', /escapes/],
    ['1/../../x', /escapes/],
    ['./config.pbtxt', /escapes/],
    ['/etc/passwd', /relative/],
    ['C:/x', /relative/],
    ['1\\model.onnx', /not allowed/],
    ['1//model.onnx', /not allowed/],
    ['', /not allowed/],
    ['.hidden', /not allowed/],
  ])('refuses %j', (name, message) => {
    expect(() => fileSegments(name, 'm')).toThrow(message);
  });
  it('takes names relative to the model folder, with or without its name in front', () => {
    expect(fileSegments('1/model.onnx', 'm')).toEqual(['1', 'model.onnx']);
    expect(fileSegments('m/1/model.onnx', 'm')).toEqual(['1', 'model.onnx']);
  });
});

describe('config.pbtxt facts', () => {
  it('reads top-level name/platform/backend, not the nested ones', () => {
    const text = 'name: "resnet"\n# platform: "no"\nplatform: "onnxruntime_onnx"\ninput [ { name: "x" data_type: TYPE_FP32 dims: [ 3 ] } ]\n';
    expect(readConfigFacts(text)).toEqual({ name: 'resnet', platform: 'onnxruntime_onnx', backend: undefined });
    expect(readConfigFacts('backend: "python"')).toEqual({ name: undefined, platform: undefined, backend: 'python' });
  });
  it('checks platform and name', () => {
    expect(() => checkConfig({ name: undefined, platform: undefined, backend: undefined }, 'm', ['python'])).toThrow(/must set platform or backend/);
    expect(() => checkConfig({ name: 'x', platform: 'python', backend: undefined }, 'm', ['python'])).toThrow(/names the model 'x'/);
    expect(() => checkConfig({ name: undefined, platform: 'caffe2_netdef', backend: undefined }, 'm', ['python'])).toThrow(/Unknown platform/);
  });
});

describe('layout', () => {
  it('places a model: config, versions, labels, configs/', () => {
    const placed = placeFiles([file('config.pbtxt'), file('1/model.onnx'), file('labels.txt'), file('configs/h100.pbtxt'), file('2/model.onnx/model.onnx')], { model: 'm', maxBytes: 100, kind: 'model' });
    expect(placed.map((p) => p.target)).toEqual(['config.pbtxt', '1/model.onnx', 'labels.txt', 'configs/h100.pbtxt', '2/model.onnx/model.onnx']);
  });
  it('refuses versions starting with 0, stray files, duplicates, file/folder clashes and oversize uploads', () => {
    expect(() => placeFiles([file('config.pbtxt'), file('01/model.onnx')], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/layout/);
    expect(() => placeFiles([file('config.pbtxt'), file('model.onnx')], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/layout/);
    expect(() => placeFiles([file('config.pbtxt'), file('1/a'), file('m/1/a')], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/twice/);
    expect(() => placeFiles([file('config.pbtxt'), file('1/a'), file('1/a/b')], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/same name/);
    expect(() => placeFiles([file('config.pbtxt', 60), file('1/a', 60)], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/over the limit/);
    expect(() => placeFiles([file('config.pbtxt')], { model: 'm', maxBytes: 100, kind: 'model' })).toThrow(/No version folder/);
  });
  it('puts bare files of a version upload into the next version; one version only', () => {
    expect(placeFiles([file('model.onnx')], { model: 'm', maxBytes: 100, kind: 'version', nextVersion: '4' }).map((p) => p.target)).toEqual(['4/model.onnx']);
    expect(() => placeFiles([file('1/a'), file('2/a')], { model: 'm', maxBytes: 100, kind: 'version', nextVersion: '3' })).toThrow(/exactly one version/);
  });
});
