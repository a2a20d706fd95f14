// Publishes and consumes through esqs serve with Node's SQS ecosystem; prints one JSON report.
// Usage: node interop.mjs ENDPOINT (credentials and region come from the environment).
import {
  SQSClient, CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand,
  StartMessageMoveTaskCommand, ListMessageMoveTasksCommand, SendMessageBatchCommand,
  DeleteMessageBatchCommand, GetQueueUrlCommand,
} from "@aws-sdk/client-sqs";
import { Producer } from "sqs-producer";
import { Consumer } from "sqs-consumer";

const endpoint = process.argv[2];
const sqs = new SQSClient({ endpoint, region: "us-east-1" });
const stem = `node-${Date.now()}`;
const report = {};
const url = async (QueueName, Attributes) =>
  (await sqs.send(new CreateQueueCommand({ QueueName, Attributes }))).QueueUrl;
const arn = async (QueueUrl) =>
  (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] })))
    .Attributes.QueueArn;

function consume(queueUrl, count, handleMessage) {
  return new Promise((resolve, reject) => {
    const got = [];
    const consumer = Consumer.create({
      queueUrl, sqs, batchSize: 10, waitTimeSeconds: 1,
      handleMessage: async (m) => {
        const result = await handleMessage(m);
        got.push(m.Body);
        if (got.length === count) { consumer.stop(); resolve(got); }
        return result;
      },
    });
    consumer.on("error", reject);
    consumer.on("processing_error", reject);
    consumer.start();
  });
}

// Standard queue: sqs-producer batches, sqs-consumer consumes and deletes.
const plain = await url(`${stem}-plain`);
const producer = Producer.create({ queueUrl: plain, sqs });
await producer.send(Array.from({ length: 25 }, (_, i) => ({ id: `m${i}`, body: `plain-${i}` })));
report.plain = (await consume(plain, 25, async (m) => m)).sort();

// FIFO: order within a group, content-based dedup drops the duplicate.
const fifo = await url(`${stem}.fifo`, { FifoQueue: "true", ContentBasedDeduplication: "true" });
const fifoProducer = Producer.create({ queueUrl: fifo, sqs });
await fifoProducer.send([0, 1, 2, 3, 0].map((i, n) => ({ id: `f${n}`, body: `fifo-${i}`, groupId: "g" })));
report.fifo = await consume(fifo, 4, async (m) => m);

// DLQ redrive: a failing handler sends the message to the DLQ; a move task brings it back.
const dlq = await url(`${stem}-dlq`);
const dlqArn = await arn(dlq);
const source = await url(`${stem}-src`, {
  VisibilityTimeout: "0",
  RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
});
await sqs.send(new SendMessageBatchCommand({ QueueUrl: source, Entries: [{ Id: "p", MessageBody: "poison" }] }));
const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, WaitTimeSeconds: 1 }));
report.firstReceive = (first.Messages ?? []).map((m) => m.Body);
const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, WaitTimeSeconds: 0 }));
report.secondReceive = (second.Messages ?? []).length;
const inDlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 1, VisibilityTimeout: 0 }));
report.inDlq = (inDlq.Messages ?? []).map((m) => m.Body);
await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn }));
for (let i = 0; i < 200; i++) {
  const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn }));
  report.moveStatus = tasks.Results?.[0]?.Status;
  if (report.moveStatus !== "RUNNING") break;
  await new Promise((r) => setTimeout(r, 100));
}
const back = await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
report.redriven = (back.Messages ?? []).map((m) => m.Body);
const deleted = await sqs.send(new DeleteMessageBatchCommand({
  QueueUrl: source,
  Entries: [...(back.Messages ?? []).map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
    { Id: "bad", ReceiptHandle: "nope" }],
}));
report.batchDelete = { ok: deleted.Successful?.length ?? 0, failed: (deleted.Failed ?? []).map((f) => f.Code) };

// A typed error: the SDK's own exception class.
try {
  await sqs.send(new GetQueueUrlCommand({ QueueName: `${stem}-missing` }));
} catch (e) {
  report.error = { name: e.name, status: e.$metadata?.httpStatusCode };
}
console.log(JSON.stringify(report));
