import { createPool } from '../../../common/db';
import { loadConfig } from '../../../common/config';

describe('the database pool', () => {
  it('survives the server ending an idle connection: logs it and opens another', async () => {
    const warnings: unknown[] = [];
    const pool = createPool(loadConfig(), { warn: (obj: unknown) => warnings.push(obj) } as never);
    const other = createPool(loadConfig());
    try {
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const ended = await other.query<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [rows[0].pid]);
      expect(ended.rows[0].ok).toBe(true);
      for (let i = 0; i < 50 && warnings.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(warnings).toEqual([expect.objectContaining({ code: '57P01' })]);
      const again = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(again.rows[0].pid).not.toBe(rows[0].pid);
    } finally {
      await pool.end();
      await other.end();
    }
  });
});
