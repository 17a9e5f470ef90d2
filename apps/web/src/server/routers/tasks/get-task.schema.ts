import { z } from 'zod';

export const taskIdSchema = z.string().trim().min(1, 'is required').max(300);
export const getTaskInput = z.object({ id: taskIdSchema });
