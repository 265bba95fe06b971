// The devnet's chain on disk (`--state-dir DIR`): one JSON document, `DIR/chain.json`, holding the
// replay log (what a fresh simnet needs to rebuild exactly the same chain) and what the API
// reports about it (blocks with their hashes and times, every transaction's bytes and outcome,
// the mempool, faucet mints). It is rewritten after every change, atomically: the new document
// goes to `chain.json.tmp`, is flushed to the disk, then renamed over the old one, and the folder
// is flushed too. A crash at any point leaves either the previous document or the new one.
//
// `DIR/devnet.lock` holds the pid of the devnet using the folder: a second devnet on the same
// folder would overwrite the first one's chain, so it is refused while that process lives.
import * as nodeFs from 'node:fs';
import { join, resolve } from 'node:path';

export const STATE_FORMAT = 1;
export const STATE_FILE = 'chain.json';
const LOCK_FILE = 'devnet.lock';
/** Folders held by devnets of this process (the lock file's pid cannot tell them apart). */
const HELD = new Set();

/** The folder cannot be used (locked by another devnet, unreadable, of another format). */
export class StateError extends Error {}

export class StateStore {
  /**
   * @param {string} dir  the state folder (created if missing)
   * @param {object} [opts]
   * @param {typeof nodeFs} [opts.fs]  file operations (tests inject failures)
   */
  constructor(dir, { fs = nodeFs } = {}) {
    this.dir = resolve(dir);
    this.fs = fs;
    this.path = join(this.dir, STATE_FILE);
    this.tmp = `${this.path}.tmp`;
    this.lockPath = join(this.dir, LOCK_FILE);
    this.locked = false;
  }

  /** Takes the folder for this process; refuses while another live devnet holds it. */
  lock() {
    const busy = (pid) => new StateError(`another devnet (pid ${pid}) keeps its chain in ${this.dir}; stop it first, or give this one another --state-dir`);
    if (HELD.has(this.dir)) throw busy(process.pid);
    this.fs.mkdirSync(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        this.fs.writeFileSync(this.lockPath, `${process.pid}\n`, { flag: 'wx' });
        this.locked = true;
        HELD.add(this.dir);
        return;
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(this.#read(this.lockPath) ?? '', 10);
      if (Number.isInteger(holder) && holder !== process.pid && alive(holder)) throw busy(holder);
      this.fs.rmSync(this.lockPath, { force: true }); // left by a devnet that is gone
    }
    throw new StateError(`could not take ${this.lockPath}`);
  }

  unlock() {
    if (!this.locked) return;
    this.locked = false;
    HELD.delete(this.dir);
    if (Number.parseInt(this.#read(this.lockPath) ?? '', 10) === process.pid) this.fs.rmSync(this.lockPath, { force: true });
  }

  /** The saved chain, or null when the folder holds none yet. */
  load() {
    // A `.tmp` is a write that never reached its rename: the document before it is the good one.
    this.fs.rmSync(this.tmp, { force: true });
    const text = this.#read(this.path);
    if (text === null) return null;
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new StateError(`${this.path} is not a devnet chain (${err.message}); move the folder away to start a new chain`);
    }
    if (doc?.format !== STATE_FORMAT) {
      throw new StateError(`${this.path} has format ${JSON.stringify(doc?.format)}, this devnet reads ${STATE_FORMAT}; move the folder away to start a new chain`);
    }
    return doc;
  }

  /** Replaces the saved chain with `doc`, atomically and durably. */
  save(doc) {
    const fs = this.fs;
    const bytes = Buffer.from(JSON.stringify({ ...doc, format: STATE_FORMAT }), 'utf8');
    const fd = fs.openSync(this.tmp, 'w', 0o644);
    try {
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at, bytes.length - at);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(this.tmp, this.path);
    const dirFd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  }

  #read(path) {
    try {
      return this.fs.readFileSync(path, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
