// Workspace paths on the wire: documents are always addressed as
// file:///workspace/<rel path>, whatever the server's real root is.

export const workspaceRoot = "file:///workspace";

export function uriFor(path: string): string {
  return workspaceRoot + "/" + path.split("/").map(encodeURIComponent).join("/");
}

/** pathFromURI maps a workspace URI back to its relative path, or null if it lies outside. */
export function pathFromURI(uri: string): string | null {
  if (!uri.startsWith(workspaceRoot + "/")) return null;
  return uri.slice(workspaceRoot.length + 1).split("/").map(decodeURIComponent).join("/");
}
