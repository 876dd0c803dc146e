// The desktop app's host: the methods its Go side binds as
// window.go.main.App. In a browser there is no host and these do nothing.

/** DesktopHost is the part of the desktop app's bound API the IDE uses. */
export interface DesktopHost {
  /** SetUnsaved tells the app which tabs have unsaved changes, so that closing the window or switching folders asks first. */
  SetUnsaved(paths: string[]): Promise<void>;
  /** TrustFolder asks the user in a native dialog; resolves true once the folder is trusted. */
  TrustFolder(): Promise<boolean>;
}

/** desktopHost returns the bound API, or null outside the desktop app. */
export function desktopHost(win: Window = window): DesktopHost | null {
  const app = (win as unknown as { go?: { main?: { App?: Partial<DesktopHost> } } }).go?.main?.App;
  if (typeof app?.SetUnsaved !== "function" || typeof app?.TrustFolder !== "function") return null;
  return app as DesktopHost;
}

/**
 * UnsavedReporter sends the list of unsaved tabs to the host whenever it
 * changes (and once at start, so a reloaded page clears the old list).
 */
export class UnsavedReporter {
  private last: string | null = null;

  constructor(private host: DesktopHost | null) {}

  report(paths: string[]): void {
    if (!this.host) return;
    const sorted = [...paths].sort();
    const key = JSON.stringify(sorted);
    if (key === this.last) return;
    this.last = key;
    this.host.SetUnsaved(sorted).catch((err) => console.warn("report unsaved tabs", err));
  }
}
