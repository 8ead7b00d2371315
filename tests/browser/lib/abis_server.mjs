// abis_server.mjs: a real `abis serve` for the browser tests, on a free
// loopback port with a private temporary data folder, plus the few API
// calls the tests make directly (principals, enrolments). With `tls` it
// serves HTTPS (self-signed in DATA/tls/, client certificates from its
// device CA optional): the test then calls it with node:https, trusting
// that certificate.

import {spawn} from 'node:child_process';
import {request as httpsRequest} from 'node:https';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

export class AbisServer {
  static async start({abis, models, tls = false}) {
    const server = new AbisServer();
    server.root = await mkdtemp(join(tmpdir(), 'abis_browser_'));
    server.log = [];
    server.child = spawn(abis, [
      'serve', '--data', join(server.root, 'data'), '--listen', '127.0.0.1:0',
      '--models', models, '--rate-limit', '0', ...(tls ? ['--tls'] : []),
    ], {stdio: ['ignore', 'pipe', 'pipe']});
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('abis serve did not start in 60 s')), 60000);
      const onData = (chunk) => {
        const text = chunk.toString();
        server.log.push(text);
        const found = /listening on https?:\/\/127\.0\.0\.1:(\d+)\//.exec(server.log.join(''));
        if (found) {
          clearTimeout(timer);
          resolve(Number(found[1]));
        }
      };
      server.child.stdout.on('data', onData);
      server.child.stderr.on('data', (chunk) => server.log.push(chunk.toString()));
      server.child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`abis serve exited (${code}): ${server.log.join('')}`));
      });
    });
    server.child.removeAllListeners('exit');
    server.origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    if (tls) server.serverCa = await readFile(join(server.root, 'data', 'tls', 'server.pem'));
    server.bootstrapToken =
        (await readFile(join(server.root, 'data', 'bootstrap-token'), 'utf8')).trim();
    return server;
  }

  async stop() {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.on('exit', resolve));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    if (this.root) await rm(this.root, {recursive: true, force: true});
  }

  async call(method, path, token, body) {
    if (this.serverCa) return this.callTls(method, path, token, body);
    const headers = {Authorization: `Bearer ${token}`};
    let payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(this.origin + path, {method, headers, body: payload});
    const document = await response.json().catch(() => null);
    return {status: response.status, body: document};
  }

  // JSON calls over HTTPS, trusting the server's own certificate.
  callTls(method, path, token, body) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = {Authorization: `Bearer ${token}`};
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    return new Promise((resolve, reject) => {
      const request = httpsRequest(this.origin + path, {method, headers, ca: this.serverCa},
          (response) => {
            const chunks = [];
            response.on('data', (chunk) => chunks.push(chunk));
            response.on('end', () => {
              let document = null;
              try {
                document = JSON.parse(Buffer.concat(chunks).toString('utf8'));
              } catch (error) {
                document = null;
              }
              resolve({status: response.statusCode, body: document});
            });
          });
      request.on('error', reject);
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  async createToken(token, name, role) {
    const reply = await this.call('POST', '/v1/tokens', token, {name, role});
    if (reply.status !== 201) {
      throw new Error(`creating ${role} ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body.token;
  }

  // The token's id (for DELETE /v1/tokens/{id}) where the server reports one.
  async createTokenWithId(token, name, role) {
    const reply = await this.call('POST', '/v1/tokens', token, {name, role});
    if (reply.status !== 201) {
      throw new Error(`creating ${role} ${name}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return {token: reply.body.token, id: reply.body.token_id};
  }

  // The server's OpenAPI document: which routes this build offers.
  async routes(token) {
    const reply = await this.call('GET', '/v1/openapi.json', token);
    const routes = new Set();
    for (const [path, operations] of Object.entries((reply.body && reply.body.paths) || {})) {
      for (const method of Object.keys(operations)) routes.add(`${method.toUpperCase()} ${path}`);
    }
    return routes;
  }

  async enrol(token, gallery, identity, jpegBytes) {
    const form = new FormData();
    form.append('gallery', gallery);
    form.append('identity', identity);
    form.append('image', new Blob([jpegBytes], {type: 'image/jpeg'}), `${identity}.jpg`);
    const reply = await this.call('POST', '/v1/enrolments', token, form);
    if (reply.status !== 201) {
      throw new Error(`enrolling ${identity}: ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body;
  }
}
