#!/usr/bin/env node
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from './build-app.js';

/** The CDK app entry (`cdk.json`): the Chaperone stack, checked by cdk-nag's AwsSolutions pack. */
const { app } = buildApp();
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
