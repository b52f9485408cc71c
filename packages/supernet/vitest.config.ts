import { defaultServerConditions } from 'vite'
import { defineProject } from 'vitest/config'

export default defineProject({
  resolve: { conditions: ['@nasjs/source', ...defaultServerConditions] },
  ssr: { resolve: { conditions: ['@nasjs/source', ...defaultServerConditions] } },
  test: { restoreMocks: true, testTimeout: 60_000, hookTimeout: 120_000 },
})
