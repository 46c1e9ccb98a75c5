// The studio's JSON API. State-changing calls send the token typed in the header (kept in this
// tab's sessionStorage only).

const tokenInput = () => document.getElementById('token');

export function initToken() {
  const input = tokenInput();
  input.value = sessionStorage.getItem('raypipe-token') || '';
  input.addEventListener('change', () => sessionStorage.setItem('raypipe-token', input.value));
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = {Accept: 'application/json'};
  const options = {method, headers};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  const token = tokenInput().value;
  if (method !== 'GET' && token) headers.Authorization = 'Bearer ' + token;
  const response = await fetch(path, options);
  let json = null;
  try { json = await response.json(); } catch (e) { json = null; }
  if (!response.ok) {
    const error = (json && json.error) || {};
    throw new ApiError(response.status, error.code || 'HTTP ' + response.status,
                       error.message || response.statusText);
  }
  return json;
}

export const get = (path) => call('GET', path);
export const post = (path, body) => call('POST', path, body || {});
