import { describe, expect, test } from 'vitest';
import { parseInspectJson, parsePsJson, splitTimestamp } from './podman-json.ts';

// podman 4.3.1 `ps --all --format json`, as captured on our test machines.
const ps43 = `[
  {
    "AutoRemove": false, "Command": ["/models/m", "--served-model-name", "pre-train"], "CreatedAt": "Less than a second ago",
    "Exited": false, "ExitedAt": -62135596800, "ExitCode": 0,
    "Id": "5a7989d26534c98942a20ac815687a348f881e23aa31225f4db89c384bb9fc72",
    "Image": "docker.io/vllm/vllm-openai:latest", "ImageID": "10e87d0c5e20", "IsInfra": false,
    "Labels": { "backplane.managed": "true", "backplane.served-name": "pre-train" },
    "Mounts": ["/models/m"], "Names": ["backplane-vllm-pre-train"], "Namespaces": {}, "Networks": [], "Pid": 10023,
    "Pod": "", "PodName": "", "Ports": null, "Size": null, "StartedAt": 1795465733, "State": "running",
    "Status": "Up Less than a second ago", "Created": 1795465733
  },
  {
    "Id": "e2db6c7c3f30", "Image": "docker.io/vllm/vllm-openai:latest", "Labels": null, "Names": ["old"],
    "State": "exited", "Status": "Exited (1) 2 seconds ago", "Exited": true, "ExitCode": 1, "StartedAt": 0, "Created": 1795465000
  }
]`;

// podman 5.x/6 differences: ID spelling (compat), Mounts as objects, ExposedPorts, Restarts.
const ps5 = JSON.stringify([
  { ID: 'abc123', Names: '/backplane-vllm-x', Image: 'img', State: 'Running', ExitCode: 0, Labels: { a: 'b' }, Mounts: [{ Type: 'bind', Source: '/m', Destination: '/m', RW: false }], ExposedPorts: null, Restarts: 0, StartedAt: '2025-01-24T10:31:02Z' },
]);

describe('parsePsJson', () => {
  test('podman 4.3', () => {
    const [running, exited] = parsePsJson(ps43);
    expect(running).toEqual({
      id: '5a7989d26534c98942a20ac815687a348f881e23aa31225f4db89c384bb9fc72',
      names: ['backplane-vllm-pre-train'],
      image: 'docker.io/vllm/vllm-openai:latest',
      state: 'running',
      exitCode: 0,
      labels: { 'backplane.managed': 'true', 'backplane.served-name': 'pre-train' },
      startedAt: new Date(1795465733 * 1000),
    });
    expect(exited).toMatchObject({ state: 'exited', exitCode: 1, labels: {}, startedAt: null });
  });

  test('podman 5 and REST-style shapes', () => {
    expect(parsePsJson(ps5)[0]).toMatchObject({ id: 'abc123', names: ['backplane-vllm-x'], state: 'running', labels: { a: 'b' }, startedAt: new Date('2025-01-24T10:31:02Z') });
  });

  test('empty and broken output', () => {
    expect(parsePsJson('[]\n')).toEqual([]);
    expect(parsePsJson('')).toEqual([]);
    expect(parsePsJson('null')).toEqual([]);
    expect(() => parsePsJson('Error: boom')).toThrow('podman ps: output is not JSON');
    expect(() => parsePsJson('{}')).toThrow('expected a JSON array');
  });
});

test('parseInspectJson reads state, exit code, times and labels', () => {
  const text = JSON.stringify([
    {
      Id: 'd38a8fcd61ab',
      Name: 'backplane-vllm-pre-train',
      State: { Status: 'exited', Running: false, ExitCode: 1, Error: '', StartedAt: '2026-11-23T20:28:53.171623385Z', FinishedAt: '2026-11-23T20:29:01.730908225Z', Healthcheck: {} },
      Config: { Labels: { 'backplane.port': '8000' }, Entrypoint: '/entrypoint.sh' },
    },
  ]);
  expect(parseInspectJson(text)).toEqual([
    {
      id: 'd38a8fcd61ab',
      name: 'backplane-vllm-pre-train',
      state: 'exited',
      running: false,
      exitCode: 1,
      error: null,
      startedAt: new Date('2026-11-23T20:28:53.171Z'),
      finishedAt: new Date('2026-11-23T20:29:01.730Z'),
      labels: { 'backplane.port': '8000' },
    },
  ]);
  expect(parseInspectJson(JSON.stringify([{ Id: 'x', State: { Status: 'running', Running: true, FinishedAt: '0001-01-01T00:00:00Z' }, Config: { Labels: null } }]))[0]).toMatchObject({ finishedAt: null, labels: {}, running: true });
  expect(parseInspectJson('[]')).toEqual([]);
});

test('splitTimestamp takes podman logs -t prefixes apart', () => {
  expect(splitTimestamp('2026-11-23T20:28:53.172908601Z INFO:     Application startup complete.')).toEqual({ at: '2026-11-23T20:28:53.172908601Z', text: 'INFO:     Application startup complete.' });
  expect(splitTimestamp('2024-08-14T00:04:33.237286439+03:00 message')).toEqual({ at: '2024-08-14T00:04:33.237286439+03:00', text: 'message' });
  expect(splitTimestamp('2026-11-23T20:28:53.172908601Z ')).toEqual({ at: '2026-11-23T20:28:53.172908601Z', text: '' });
  expect(splitTimestamp('no stamp here')).toEqual({ at: undefined, text: 'no stamp here' });
});
