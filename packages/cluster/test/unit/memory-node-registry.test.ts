import { MemoryNodeRegistry } from '../../src/memory/memory-node-registry.js';
import { nodeRegistryContract } from '../contract/node-registry.contract.js';

nodeRegistryContract('MemoryNodeRegistry', async () => ({ registry: new MemoryNodeRegistry(), cleanup: async () => {} }));
