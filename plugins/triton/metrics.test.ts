import { describe, expect, it } from 'vitest';
import { tritonMetrics } from './metrics.ts';

const old = `# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="batching",version="1"} 2.000000
# TYPE nv_gpu_utilization gauge
nv_gpu_utilization{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 0.250000
nv_gpu_memory_total_bytes{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 16945512448.000000
nv_gpu_memory_used_bytes{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 974913536.000000
nv_gpu_power_usage{gpu_uuid="GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc"} 55.137000
`;
const newer = `nv_inference_request_failure{model="simple",reason="BACKEND",version="1"} 3
nv_inference_request_failure{model="simple",reason="REJECTED",version="1"} 1
nv_inference_count{model="simple",version="1"} 12
nv_inference_exec_count{model="simple",version="1"} 6
`;

describe('Triton metrics', () => {
  it('reads the older %f captures', () => {
    const m = tritonMetrics(old);
    expect(m.gpus).toEqual([{ uuid: 'GPU-0e9fdafb-5adb-91cd-26a8-308d34357efc', utilization: 0.25, memoryTotalBytes: 16945512448, memoryUsedBytes: 974913536, powerWatts: 55.137 }]);
    expect(m.models).toEqual([{ model: 'batching', version: '1', inferenceCount: 0, requestSuccess: 2, requestFailure: 0, executionCount: 0 }]);
  });
  it('sums failures split by reason in newer builds', () => {
    expect(tritonMetrics(newer).models).toEqual([{ model: 'simple', version: '1', inferenceCount: 12, requestSuccess: 0, requestFailure: 4, executionCount: 6 }]);
  });
});
