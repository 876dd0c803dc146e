// Entry point: resolve the sessiond connection and start the IDE.
import "./styles.css";
import { resolveConnection } from "./api/conn";
import { App } from "./app";

async function main() {
  const root = document.getElementById("app")!;
  try {
    const conn = await resolveConnection();
    const app = new App(conn, root);
    (window as unknown as { gatewave: App }).gatewave = app;
    await app.start();
    document.body.dataset.ready = "true";
  } catch (err) {
    root.textContent = `Gatewave could not start: ${(err as Error).message}`;
    root.className = "fatal";
  }
}

void main();
