/*
 * Startup for every board of the firmware test (Cortex-M0 to M33) under QEMU: the vector
 * table and a reset handler in assembly, so that the FPU, where there is one, is on before
 * any compiled code runs. Only ARMv6-M instructions, which every Cortex-M runs; the CPU,
 * the FPU and the float ABI come from the compiler flags.
 */
    .syntax unified
    .thumb

    .section .vectors, "a"
    .align 2
    .globl vectors
vectors:
    .word _stack_top
    .word Reset_Handler
    .word Fault_Handler     /* NMI */
    .word Fault_Handler     /* HardFault */
    .word Fault_Handler     /* MemManage (reserved on ARMv6-M) */
    .word Fault_Handler     /* BusFault (reserved on ARMv6-M) */
    .word Fault_Handler     /* UsageFault (reserved on ARMv6-M) */
    .word Fault_Handler     /* SecureFault (reserved before ARMv8-M) */
    .word 0, 0, 0
    .word Fault_Handler     /* SVCall */
    .word Fault_Handler     /* DebugMonitor */
    .word 0
    .word Fault_Handler     /* PendSV */
    .word SysTick_Handler

    .text
    .thumb_func
    .globl Reset_Handler
    .type Reset_Handler, %function
Reset_Handler:
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11 (the FPU). Without it the first float
     * instruction faults. */
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    ldr r2, =(0xF << 20)
    orrs r1, r2
    str r1, [r0]
    dsb
    isb
#endif
    /* .data from flash to RAM. */
    ldr r0, =_data_start
    ldr r1, =_data_end
    ldr r2, =_data_load
1:  cmp r0, r1
    bhs 2f
    ldr r3, [r2]
    str r3, [r0]
    adds r2, #4
    adds r0, #4
    b 1b
    /* .bss zeroed. */
2:  ldr r0, =_bss_start
    ldr r1, =_bss_end
    movs r2, #0
3:  cmp r0, r1
    bhs 4f
    str r2, [r0]
    adds r0, #4
    b 3b
    /* The stack painted below the current stack pointer, for the high-water mark. */
4:  ldr r0, =_stack_bottom
    mov r1, sp
    ldr r2, =STACK_PAINT
5:  cmp r0, r1
    bhs 6f
    str r2, [r0]
    adds r0, #4
    b 5b
6:  bl main
    bl semihost_exit
    b .

    /* Any fault ends the run with a non-zero status (semihosting SYS_EXIT with
     * ADP_Stopped_RunTimeErrorUnknown). */
    .thumb_func
    .globl Fault_Handler
    .type Fault_Handler, %function
Fault_Handler:
    movs r0, #0x18
    ldr r1, =0x20023
    bkpt 0xab
    b .

    .pool
