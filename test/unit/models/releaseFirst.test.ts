import { ReleaseFirst } from '../../../activities/models/releaseFirst';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('ReleaseFirst', () => {
  it('lets exploratory calls through at once while no release work runs', () => {
    const releaseFirst = new ReleaseFirst({ exploratoryCalls: 1, lingerMs: 10 });
    for (let i = 0; i < 100; i++) expect(releaseFirst.admitExploratory()).toBe(true);
    expect(releaseFirst.releaseWorkRunning).toBe(false);
  });

  it('holds exploratory calls to their lanes while release work runs, and until the linger after it ends', async () => {
    const releaseFirst = new ReleaseFirst({ exploratoryCalls: 2, lingerMs: 1000 });
    releaseFirst.releaseWorkBegan();
    expect(releaseFirst.admitExploratory()).toBe(true);
    expect(releaseFirst.admitExploratory()).toBe(true);
    let third = false;
    const held = Promise.resolve(releaseFirst.admitExploratory()).then(() => (third = true));
    await sleep(5);
    expect(third).toBe(false);
    expect(releaseFirst.exploratoryHeld).toBe(1);
    // A lane given back goes to the held call.
    releaseFirst.exploratoryDone();
    await held;
    expect(third).toBe(true);

    // Two release activities overlap: the hold ends only after both, and the linger.
    let fourth = false;
    const later = Promise.resolve(releaseFirst.admitExploratory()).then(() => (fourth = true));
    releaseFirst.releaseWorkBegan();
    releaseFirst.releaseWorkEnded();
    await sleep(80);
    expect(fourth).toBe(false);
    releaseFirst.releaseWorkEnded();
    await sleep(20);
    expect(fourth).toBe(false);
    expect(releaseFirst.releaseWorkRunning).toBe(true);
    await later;
    expect(fourth).toBe(true);
    expect(releaseFirst.releaseWorkRunning).toBe(false);
  });

  it('keeps holding when release work begins again within the linger, and holds every call at 0 lanes', async () => {
    const releaseFirst = new ReleaseFirst({ exploratoryCalls: 0, lingerMs: 30 });
    releaseFirst.releaseWorkBegan();
    releaseFirst.releaseWorkEnded();
    await sleep(10);
    releaseFirst.releaseWorkBegan();
    let admitted = false;
    const held = Promise.resolve(releaseFirst.admitExploratory()).then(() => (admitted = true));
    await sleep(60);
    expect(admitted).toBe(false);
    releaseFirst.releaseWorkEnded();
    await held;
    expect(admitted).toBe(true);
  });

  it('lets a held call go when its signal aborts', async () => {
    const releaseFirst = new ReleaseFirst({ exploratoryCalls: 0, lingerMs: 10 });
    releaseFirst.releaseWorkBegan();
    const controller = new AbortController();
    const held = releaseFirst.admitExploratory(controller.signal);
    controller.abort();
    await expect(held).resolves.toBe(false);
    expect(releaseFirst.exploratoryHeld).toBe(0);
    releaseFirst.releaseWorkEnded();
  });
});
