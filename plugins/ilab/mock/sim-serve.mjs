// `ilab model serve`: an OpenAI-style server (`/health`, `/v1/models`, `/v1/chat/completions`,
// streamed or not) that answers every prompt with a canned text, logging like uvicorn.
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { log, option, sleep } from './sim-format.mjs';

function answer(model, messages) {
  const last = [...(messages ?? [])].reverse().find((m) => m.role === 'user')?.content ?? '';
  return `This is a simulated answer from ${model} (backplane ilab mock mode). You asked: ${String(last).slice(0, 200)}`;
}

function chat(req, res, model, body) {
  const id = `chatcmpl-sim-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  const text = answer(model, body.messages);
  if (!body.stream) {
    const reply = { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const words = text.split(/(?<= )/);
  let i = 0;
  const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const timer = setInterval(() => {
    if (i < words.length) return void res.write(chunk(i++ === 0 ? { role: 'assistant', content: words[0] } : { content: words[i - 1] }));
    clearInterval(timer);
    res.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
  }, 20);
  res.on('close', () => clearInterval(timer));
}

export async function serve(args) {
  const modelPath = option(args, '--model-path') ?? option(args, '--model');
  const host = option(args, '--host') ?? '127.0.0.1';
  const port = Number(option(args, '--port') ?? 8000);
  if (!modelPath || !existsSync(modelPath)) {
    log('ERROR', 'instructlab.model.serve_backend:66', `model path does not exist: ${modelPath}`);
    process.exit(1);
  }
  const model = path.basename(modelPath);
  log('INFO', 'instructlab.model.serve_backend:54', `Setting backend_type in the serve config to vllm`);
  log('INFO', 'instructlab.model.backends.vllm:332', `vLLM starting up on pid ${process.pid} at http://${host}:${port}/v1`);
  process.stdout.write(`INFO:     Started server process [${process.pid}]\nINFO:     Waiting for application startup.\n`);
  await sleep();
  const server = http.createServer((req, res) => {
    const done = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    res.on('finish', () => process.stdout.write(`INFO:     ${req.socket.remoteAddress}:${req.socket.remotePort} - "${req.method} ${req.url} HTTP/1.1" ${res.statusCode}\n`));
    if (req.method === 'GET' && req.url === '/health') return done(200, {});
    if (req.method === 'GET' && req.url === '/v1/models') return done(200, { object: 'list', data: [{ id: model, object: 'model', owned_by: 'ilab-simulator', root: modelPath }] });
    if (req.method === 'POST' && req.url === '/v1/chat/completions') {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        try {
          chat(req, res, model, JSON.parse(raw || '{}'));
        } catch {
          done(400, { object: 'error', message: 'invalid JSON body', type: 'BadRequestError' });
        }
      });
      return;
    }
    done(404, { detail: 'Not Found' });
  });
  server.once('error', (error) => {
    log('ERROR', 'instructlab.model.backends.vllm:401', `cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    process.stdout.write(`INFO:     Application startup complete.\nINFO:     Uvicorn running on http://${host}:${port} (Press CTRL+C to quit)\n`);
  });
  const stop = () => {
    process.stdout.write('INFO:     Shutting down\nINFO:     Finished server process\n');
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
