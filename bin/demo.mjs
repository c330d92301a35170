#!/usr/bin/env node
// `npm run demo`: patrol's main job against simulated GitHub and Slack on 127.0.0.1 (see test/demo/).
import { register } from "tsx/esm/api";

register();
await import("../test/demo/run-demo.ts");
