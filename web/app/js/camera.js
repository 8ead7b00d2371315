// camera.js: the device camera (getUserMedia) and the still picture.
//
// The camera stream goes straight to a <video> element (no URL, no file);
// a capture is drawn onto a canvas and encoded to a JPEG Blob held in
// memory until it is submitted or discarded. stop() ends every track, so
// the camera light goes off when the page is not capturing.

let stream = null;

export function cameraRunning() {
  return stream !== null;
}

// Messages for getUserMedia's failures, in the user's terms.
export function describeCameraError(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Camera access was denied. Allow the camera for this site in the browser, ' +
      'or choose "Photo file" to upload a picture.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No usable camera was found on this device. Choose "Photo file" instead.';
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return 'The camera is in use by another app or could not start. Close it and try again.';
  }
  if (name === 'NoSecureContext') {
    return 'The camera needs a secure connection (HTTPS, or localhost). Use "Photo file".';
  }
  return `The camera could not start (${name || 'unknown error'}).`;
}

export async function startCamera(video, facing) {
  stopCamera(video);
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const error = new Error('no secure context');
    error.name = 'NoSecureContext';
    throw error;
  }
  stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: {facingMode: {ideal: facing}, width: {ideal: 1280}, height: {ideal: 720}},
  });
  video.srcObject = stream;
  await video.play();
  if (!video.videoWidth) {
    await new Promise((resolve) => video.addEventListener('loadeddata', resolve, {once: true}));
  }
}

export function stopCamera(video) {
  if (stream !== null) {
    for (const track of stream.getTracks()) track.stop();
  }
  stream = null;
  if (video) {
    video.pause();
    video.srcObject = null;
  }
}

// Draws the current video frame onto `canvas`; returns a JPEG Blob.
export function captureFrame(video, canvas) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('encoding failed'))),
        'image/jpeg', 0.92);
  });
}

// Checks a chosen file is a JPEG or PNG by its first bytes (not its name)
// and draws it onto `canvas`. Returns the file itself: uploads are sent as
// they are, never re-encoded (a fingerprint image must keep its pixels).
export async function loadPhotoFile(file, canvas) {
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  const png = head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
  if (!jpeg && !png) throw new Error('The file is not a JPEG or PNG picture.');
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (error) {
    throw new Error('The picture could not be read; it may be damaged.');
  }
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  return new Blob([file], {type: jpeg ? 'image/jpeg' : 'image/png'});
}

// Wipes a canvas's pixels and frees its backing store.
export function clearCanvas(canvas) {
  const context = canvas.getContext('2d');
  if (context) context.clearRect(0, 0, canvas.width, canvas.height);
  canvas.width = 0;
  canvas.height = 0;
}
