/**
 * The demo's online experiment story end to end (examples/demo/experimentStory.ts): a passed
 * candidate is started through the CLI, simulated traffic flows over HTTP, the workflow promotes
 * it and `production` moves to it — `evalgate experiment status --wait` exits 0; before that, the same
 * candidate under harmful traffic is rolled back (exit 1).
 */
import { apiClient } from '../../testkit/apiClient';
import { runExperimentStory } from '../../examples/demo/experimentStory';
import { startEvalWorld, type EvalWorld } from '../../testkit/evalWorld';
import { passedCheck } from '../../testkit/gates';

let world: EvalWorld;

beforeAll(async () => {
  world = await startEvalWorld();
}, 120_000);
afterAll(() => world.close());

it('promotes the passed candidate after live traffic, through the CLI', async () => {
  const { model, check } = await passedCheck(world);
  let printed = '';
  const story = await runExperimentStory({
    baseUrl: world.stack.baseUrl,
    admin: apiClient(world.stack.baseUrl, world.stack.adminToken),
    team: world.team,
    checkId: check.checkId,
    candidate: model.v('logreg-v1'),
    print: (text) => void (printed += text),
  });
  expect(story.rolledBack.exitCode).toBe(1);
  expect((await world.editor.get(`/v1/experiments/${story.rolledBack.experimentId}`)).body.decision).toMatchObject({
    status: 'rolled_back',
    reason: 'guardrail_harm',
  });
  expect(story.exitCode).toBe(0);
  expect(printed).toMatch(/: rolled_back/);
  expect(printed).toMatch(/: promoted · step 2\/2/);
  expect((await world.editor.get(`/v1/models/${model.modelId}`)).body.aliases.production).toBe(model.v('logreg-v1'));
}, 300_000);
