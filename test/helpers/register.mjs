// Test-time module hooks: TypeScript via tsx, C sources as text.
import { register } from 'node:module';
import 'tsx/esm';

register('./c-text-loader.mjs', import.meta.url);
