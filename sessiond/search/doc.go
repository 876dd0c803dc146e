// Package search finds text across the workspace's files and replaces it.
//
// A search walks the workspace through os.Root (symlinks are never
// followed, so nothing outside the workspace is read), honours .gitignore
// files (the root's and nested ones: globs, "**", negation, directory-only
// and anchored rules), skips .git, binary files (a NUL byte in the first
// 8 KiB) and files over Options.MaxFileSize, and reads each file once on a
// bounded pool of goroutines. Results stream as they are found.
//
// # Wire format
//
// GET /api/v1/search is a WebSocket (token as ?access_token=). The client
// sends one text message, the query:
//
//	{"pattern":"clk","regex":false,"caseSensitive":false,"wholeWord":false,
//	 "include":["*.v, *.sv"],"exclude":["build/"],"maxResults":20000,
//	 "replace":"clock"}
//
// Only pattern is required; replace (optional) asks for a preview. Globs
// without a slash match a file's or a parent directory's name; globs with
// one match the workspace-relative path ("**" spans directories; "dir/"
// means "dir/**"); an entry may hold several, comma-separated. The server
// answers with text messages, one JSON object each:
//
//	{"type":"file","path":"src/top.v","sha256":"<hex>","matches":[
//	  {"line":3,"col":8,"len":3,"text":"  input clk,","replacement":"clock"}]}
//	{"type":"done","summary":{"files":1,"matches":1,"scanned":40,"skipped":2,"truncated":false,"ms":3}}
//	{"type":"error","error":{"code":"bad_request","message":"..."}}
//
// One "file" frame per file with matches, in the order found; then exactly
// one "done" or "error" frame and a normal close. line is 1-based; col and
// len count UTF-16 code units within the line; text is the line cut to
// MaxPreview bytes; replacement is present only with "replace" (for a
// regex, $1 and ${name} expanded). sha256 is the file's content hash (its
// ETag without quotes). Closing the socket, or sending any further
// message, stops the search.
//
// POST /api/v1/search/replace applies a replace-all:
//
//	{"query":{...the same query...},"replace":"clock",
//	 "files":[{"path":"src/top.v","sha256":"<hex from the search>"}]}
//	→ {"files":[{"path":"src/top.v","status":"replaced","replacements":4,"sha256":"<new hex>"},
//	            {"path":"b.v","status":"changed","replacements":0}]}
//
// status is "replaced", "changed" (the file's content is no longer the
// sha256 sent: it is left alone), "unchanged" (no match left) or "failed"
// (with "error"). Each file is written with the editor's conflict-safe
// write (If-Match on its ETag, temporary file and rename), so a file is
// either wholly replaced or not touched.
package search
