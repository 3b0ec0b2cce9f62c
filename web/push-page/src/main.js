// bankgate's upload page: Uppy's Dashboard and AWS S3 plugin over bankgate's presign API.
// The API decides everything (who, which types, sizes, quota, keys); the page asks, hashes and
// uploads, and says in words what the API refused.
import Uppy from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import AwsS3 from '@uppy/aws-s3'
import { createSHA256 } from 'hash-wasm'

// The presign API: the page's <meta name="bankgate-api" content="URL">, which a page hosted on its
// own (S3, CloudFront) sets to the stack's UploadApiUrl; empty, `api` beside the page (bankgate serve).
const API_META = document.querySelector('meta[name="bankgate-api"]')
const API = new URL((API_META && API_META.content) || 'api', document.baseURI).href.replace(/\/$/, '')
const MULTIPART_ABOVE = 16 * 1024 * 1024 // bytes; larger files go up in parts, resumable
const HASH_SLICE = 8 * 1024 * 1024

function takeToken () {
  const match = /(?:^|[#&])token=([^&]+)/.exec(location.hash)
  if (match) {
    sessionStorage.setItem('bankgate-token', decodeURIComponent(match[1]))
    history.replaceState(null, '', location.pathname + location.search)
  }
  return sessionStorage.getItem('bankgate-token')
}

class Refused extends Error {
  constructor (code, message) {
    super(message)
    this.code = code
  }
}

const token = takeToken()

async function api (method, path, body) {
  let answer
  try {
    answer = await fetch(API + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new Refused('network', 'The upload service cannot be reached; check your connection and retry.')
  }
  const payload = await answer.json().catch(() => ({}))
  if (!answer.ok) {
    if (answer.status === 401) {
      throw new Refused('unauthenticated', 'Your sign-in link has expired or is not valid: ask for a new link.')
    }
    throw new Refused(payload.error || 'error', payload.message || `The upload service answered ${answer.status}.`)
  }
  return payload
}

async function sha256Of (blob, onProgress) {
  const hasher = await createSHA256()
  for (let offset = 0; offset < blob.size; offset += HASH_SLICE) {
    hasher.update(new Uint8Array(await blob.slice(offset, offset + HASH_SLICE).arrayBuffer()))
    onProgress(Math.min(blob.size, offset + HASH_SLICE))
  }
  return hasher.digest('hex')
}

const results = document.getElementById('results')
function show (file, state, detail) {
  let item = results.querySelector(`li[data-file="${CSS.escape(file.id)}"]`)
  if (!item) {
    item = document.createElement('li')
    item.dataset.file = file.id
    item.innerHTML = '<div class="name"></div><div class="detail"></div>'
    results.append(item)
  }
  item.dataset.state = state
  item.querySelector('.name').textContent = file.name
  item.querySelector('.detail').textContent = detail
}

if (!token) {
  document.getElementById('signin').hidden = false
} else {
  document.getElementById('app').hidden = false
  const grants = new Map() // staging key -> the API's grant, for the requests after the first

  const uppy = new Uppy({ autoProceed: false, restrictions: { maxNumberOfFiles: 20 } })
  uppy.use(Dashboard, {
    inline: true,
    target: '#uploader',
    width: '100%',
    height: 420,
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    note: 'Each file is checked (SHA-256 in your browser) and verified again on arrival.',
  })

  uppy.addPreProcessor(async (ids) => {
    for (const id of ids) {
      const file = uppy.getFile(id)
      uppy.emit('preprocess-progress', file, { mode: 'determinate', message: 'Computing SHA-256', value: 0 })
      const sha256 = await sha256Of(file.data, (done) => {
        uppy.emit('preprocess-progress', file, { mode: 'determinate', message: 'Computing SHA-256', value: done / file.size })
      })
      uppy.setFileMeta(id, { sha256 })
      uppy.emit('preprocess-complete', file)
    }
  })

  async function grant (file, method) {
    const answer = await api('POST', '/uploads', {
      name: file.name,
      size: file.size,
      content_type: file.type || 'application/octet-stream',
      sha256: file.meta.sha256,
      method,
    })
    grants.set(answer.key, answer)
    return answer
  }

  async function signRequest (request) {
    const file = uppy.getFile(request.key)
    if (!request.uploadId && request.method === 'PUT') {
      const answer = await grant(file, 'put')
      return { url: answer.url, key: answer.key, headers: answer.headers }
    }
    if (!request.uploadId && request.method === 'POST') {
      const answer = await grant(file, 's3-multipart')
      return api('POST', `/uploads/${answer.uploadId}/sign`, { operation: 'create' })
    }
    const known = grants.get(request.key)
    if (!known || !request.uploadId) throw new Refused('not_allowed', 'This request is not part of an upload.')
    const operation = { PUT: 'part', GET: 'list', POST: 'complete', DELETE: 'abort' }[request.method]
    const body = { operation, upload_id: request.uploadId }
    if (operation === 'part') body.part = request.partNumber
    const signed = await api('POST', `/uploads/${known.uploadId}/sign`, body)
    return { url: signed.url, headers: signed.headers }
  }

  uppy.use(AwsS3, {
    shouldUseMultipart: (file) => file.size > MULTIPART_ABOVE,
    generateObjectKey: (file) => file.id, // the API picks the real key; this finds the file again
    signRequest,
  })

  uppy.on('upload-success', (file, response) => {
    show(file, 'uploaded', `Uploaded and being verified: ${response.body?.key ?? ''}`)
  })
  uppy.on('upload-error', (file, error) => {
    const refused = error instanceof Refused || error?.cause instanceof Refused
    const message = (error instanceof Refused ? error : error?.cause)?.message ?? error?.message ?? String(error)
    show(file, refused ? 'refused' : 'failed', message)
  })
  window.bankgateUppy = uppy // for the browser tests and support staff
}
