// Every CLI command, one file each. A command file exports `register(program)`.

import type { Command } from 'commander';
import { register as init } from './init.ts';
import { register as importCmd } from './import.ts';
import { register as info } from './info.ts';
import { register as sensors } from './sensors.ts';
import { register as readings } from './readings.ts';
import { register as serve } from './serve.ts';
import { register as demo } from './demo.ts';
import { register as exportCmd } from './export.ts';
import { register as estimate } from './estimate.ts';
import { register as compare } from './compare.ts';
import { register as predict } from './predict.ts';
import { register as runs } from './runs.ts';
import { register as backends } from './backends.ts';
import { register as cntkKernel } from './cntk-kernel.ts';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: RegisterCommand[] = [init, importCmd, info, sensors, readings, serve, demo, exportCmd, estimate, compare, predict, runs, cntkKernel, backends];
