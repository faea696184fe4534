// CloudFront Function (cloudfront-js-2.0, viewer request) in front of the console's bucket.
// The console is a single-page app with deep links (/pipelines/<name>, /executions/<id>,
// /models): a path whose last segment has no file extension is a page of the app, so it is
// served index.html; files (/assets/app.js, /config.json) are served as they are, and a
// missing one stays an error instead of becoming the app's HTML.
function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var last = uri.substring(uri.lastIndexOf("/") + 1);
  if (last.indexOf(".") === -1) {
    request.uri = "/index.html";
  }
  return request;
}
