import type { Command } from '../command';
import { attributeCommand } from './attribute';
import { audit } from './audit';
import { demo } from './demo';
import { evalCommand, gold } from './gold';
import { importCommand } from './import';
import { modelCommand } from './model';
import { reportCommand } from './report';
import { scoreCommand } from './score';
import { smoke } from './smoke';
import { stack } from './stack';
import { trainCommand } from './train';
import { worker } from './worker';

/** Every `tda` command, in the order `tda --help` lists them. */
export const COMMANDS: Command[] = [
  stack,
  worker,
  importCommand,
  trainCommand,
  modelCommand,
  attributeCommand,
  scoreCommand,
  reportCommand,
  audit,
  gold,
  evalCommand,
  demo,
  smoke,
];
