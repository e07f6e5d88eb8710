// One asynchronous job of which only the newest request matters (a pane's render, the dental geometry): at most
// one run is in flight, requests made meanwhile fold into one more run, and every request's promise resolves with
// the result of the first run that started after it, so it shows the requested state or a newer one.
export class LatestRun {
  /** @param run async (isCurrent) => result; isCurrent() turns false when cancel() is called during the run */
  constructor(run) {
    this._run = run;
    this._seq = 0;
    this._gen = 0;
    this._waiters = [];
    this.busy = false;              // a run is under way
    this.want = false;              // another run has been requested
  }

  get pending() {
    return this.busy || this.want;
  }

  request() {
    const done = this._wait(++this._seq);
    this.want = true;
    this._pump();
    return done;
  }

  /** Resolves once the runs requested so far are done (at once when idle), without requesting another. */
  settled() {
    return this.pending ? this._wait(this._seq) : Promise.resolve(null);
  }

  /** Forgets every request (their promises resolve with null); a run under way is no longer current. */
  cancel() {
    this._gen++;
    this.want = false;
    for (const w of this._waiters) w.resolve(null);
    this._waiters = [];
  }

  _wait(ticket) {
    return new Promise((resolve) => this._waiters.push({ ticket, resolve }));
  }

  async _pump() {
    if (this.busy || !this.want) return;
    this.want = false;
    this.busy = true;
    const ticket = this._seq;
    const gen = this._gen;
    let result = null;
    try {
      result = await this._run(() => gen === this._gen);
    } finally {
      this.busy = false;
      if (gen === this._gen) {
        this._waiters = this._waiters.filter((w) => {
          if (w.ticket > ticket) return true;
          w.resolve(result);
          return false;
        });
      }
      this._pump();
    }
  }
}
