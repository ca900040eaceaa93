import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalS3, type LocalS3 } from '../../scripts/local/s3.mjs';

let s3: LocalS3;
beforeAll(async () => { s3 = await startLocalS3({ buckets: ['b'] }); });
afterAll(async () => { await s3?.stop(); });

it('the local S3 server stores and returns bytes through the real SDK', async () => {
  const client = new S3Client({
    endpoint: s3.endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const body = Buffer.from([0x1f, 0x8b, 1, 2, 3, 255]);
  await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k/x.gz', Body: body }));
  const got = await client.send(new GetObjectCommand({ Bucket: 'b', Key: 'k/x.gz' }));
  expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
  client.destroy();
});
