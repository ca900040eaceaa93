import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const name = event.queryStringParameters?.name ?? 'world';
  if (name.length > 64) return { statusCode: 400, body: 'name is too long' };
  return { statusCode: 200, body: `hello ${name}` };
}
