// Child process for the cross-process determinism test: prints the sha256 of a projection.
import { createHash } from 'node:crypto';
import { projectBlocks } from '../../../lib/grad/projectors';
import { fixtureBlocks } from './projectionFixture';

const kind = process.argv[2] as 'kronecker' | 'gaussian' | 'rademacher';
const spec = kind === 'kronecker' ? { kind, k1: 4, k2: 3, seed: 7 } : { kind, k: 16, seed: 7 };
const g = projectBlocks(fixtureBlocks(), spec);
process.stdout.write(createHash('sha256').update(Buffer.from(g.data.buffer)).digest('hex'));
